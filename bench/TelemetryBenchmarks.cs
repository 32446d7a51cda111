using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// Flight-data ingest, on SQLite and on PostgreSQL, each figure beside the machine's own limits measured in the
/// same run: the same server parsing and discarding the same batches (HTTP + JSON + validation, no storage),
/// and the store alone taking the same rows (no HTTP).
/// </summary>
public static class TelemetryBenchmarks
{
    private const int BatchSize = 500;

    public static async Task RunAsync(StorageProvider provider, IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        int totalEvents = settings.GetValueOrDefault("events", 2_000_000), senders = settings.GetValueOrDefault("senders", 8);
        await using var api = new BenchApi(provider);
        var admin = api.Client(api.AdminSecret);
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-telemetry", MaxUses = senders });
        var agents = new List<(string Id, string Secret, string Hostname)>();
        for (var s = 0; s < senders; s++)
        {
            var enrolled = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = $"node-{s}", Os = "linux", AgentVersion = "bench" });
            agents.Add((enrolled.Agent.Id, enrolled.Secret, enrolled.Agent.Hostname));
        }

        // Each sender cycles through a few distinct batches (the client serialises each push, as an agent would).
        var templates = agents.Select((_, s) => Enumerable.Range(0, 8).Select(t => Events(s * 100 + t, BatchSize)).ToList()).ToList();
        var batchesPerSender = totalEvents / BatchSize / senders;
        var events = (long)batchesPerSender * senders * BatchSize;
        var name = provider == StorageProvider.Sqlite ? "SQLite" : "PostgreSQL";
        (double Seconds, double Cpu) discard = default;

        // Each path runs three times, measured the last time: tiered compilation keeps recompiling hot code (with
        // profile data) for 20-40 s after start, on a core the measurement needs, and the steady state is the figure.
        const int Rounds = 3;

        // 1. The limit of HTTP + JSON + validation on this machine.
        for (var round = 0; round < Rounds; round++)
        {
            discard = await Measure(senders, async s =>
            {
                var client = api.Client(agents[s].Secret, new ToDiscard());
                for (var b = 0; b < batchesPerSender; b++)
                    await client.PushTelemetryAsync(new TelemetryBatch { Id = $"d-{b}", Sequence = b + 1, Events = templates[s][b % 8] }, agents[s].Id);
            });
        }

        // 2. End to end: generated client -> Kestrel -> validation -> committed storage. The first rounds
        // store twice as many events beforehand (a warm-up, also a store that is not empty).
        (double Seconds, double Cpu) endToEnd = default;
        for (var round = 0; round < Rounds; round++)
        {
            var first = round * batchesPerSender;
            endToEnd = await Measure(senders, async s =>
            {
                var client = api.Client(agents[s].Secret);
                for (var b = first; b < first + batchesPerSender; b++)
                {
                    var result = await client.PushTelemetryAsync(new TelemetryBatch { Id = $"e-{b}", Sequence = b + 1, Events = templates[s][b % 8] }, agents[s].Id);
                    if (result.Duplicate || result.Gap is not null)
                        throw new InvalidOperationException($"batch {b} of sender {s} was not stored as new");
                }
            });
        }

        // What reading and checking a pushed batch costs one core, and what turning it into segments (JSON Lines,
        // timeline, compression) costs.
        var pushed = templates[0].Select(t => System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new TelemetryBatch { Id = "b", Sequence = 1, Events = t }, Segments.Json)).ToList();
        var readRate = PerCore(b => { using var _ = EventBatch.Read(pushed[b % 8], "node-0"); });
        // Redaction (docs/redaction.md): every free-text field of every event scanned, as at ingest; then batches whose
        // every event is a command line holding secrets (the forms of the redaction tests), all found and replaced.
        var redactRate = PerCore(b => { using var batch = EventBatch.Read(pushed[b % 8], "node-0"); batch.Redact(SecretRedactor.Default); });
        string[][] secretForms =
        [
            ["curl", "-H", "Authorization: Bearer plt_0123456789abcdefABCDEF0123456789", "https://api.example.com/v1"],
            ["sh", "-c", "mysql -uroot -ps3cret -e 'select 1'; curl -u alice:pw https://x"],
            ["sshpass", "-p", "s3cret", "ssh", "root@db"],
            ["deploy", "DB_PASSWORD=s3cret", "API_KEY=k", "https://bob:pw@git.example.com/r.git"],
            ["aws", "configure", "set", "aws_secret_access_key", "wJalrXUtnFEMI", "AKIAIOSFODNN7EXAMPLE"],
            ["az", "--connection-string", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k==;EndpointSuffix=core.windows.net"],
            ["api", "--header", "X-Session: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"],
            ["import", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"],
        ];
        var secretBatch = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new TelemetryBatch
        {
            Id = "s", Sequence = 1,
            Events = Enumerable.Range(0, BatchSize).Select(i => (TelemetryEvent)new ProcessStartEvent
            {
                Id = $"s{i}", Time = DateTimeOffset.UtcNow.AddMinutes(-1), Pid = 100 + i, Executable = "/usr/bin/" + secretForms[i % 8][0], Args = secretForms[i % 8], Cwd = "/srv/app",
            }).ToList(),
        }, Segments.Json);
        var secretRate = PerCore(_ => { using var batch = EventBatch.Read(secretBatch, "node-0"); batch.Redact(SecretRedactor.Default); });
        var parsed = pushed.Select(p => EventBatch.Read(p, "node-0")).ToList();
        var buildRate = PerCore(b => Segments.Build(parsed[b % 8], "node-0"));
        parsed.ForEach(p => p.Dispose());

        // 3. The limit of the store: the same rows, made beforehand, committed batch by batch.
        var store = api.Services.GetRequiredService<TelemetryStore>();
        var segments = templates.Select((t, s) => t.Select(batch => Segments.Build(batch, agents[s].Hostname)).ToList()).ToList();
        var raw = await Measure(senders, async s =>
        {
            for (var b = 0; b < batchesPerSender; b++)
                await store.IngestAsync(agents[s].Id, $"r-{b}", Rounds * batchesPerSender + b + 1, segments[s][b % 8], DateTimeOffset.UtcNow, CancellationToken.None);
        });

        var rate = events / endToEnd.Seconds;
        results.Add(($"Flight data ingest on {name}, end to end (generated client -> Kestrel -> validation -> committed), batches of {BatchSize}, {senders} agents at once",
            $"{rate:N0} events/s ({events:N0} events in {endToEnd.Seconds:N1} s, CPU {endToEnd.Cpu:N0}% of one core, client included); {rate / (events / discard.Seconds):N2} x parse-and-discard",
            ">= 200,000 events/s and >= 0.3 x parse-and-discard"));
        results.Add(($"  machine limit: the same server parsing, validating and discarding the same batches", $"{events / discard.Seconds:N0} events/s (CPU {discard.Cpu:N0}%)", ""));
        results.Add(($"  cost on one core: reading and checking pushed batches", $"{readRate:N0} events/s", ""));
        results.Add(($"  cost on one core: reading, checking and redacting them (every free-text field scanned for secrets)", $"{redactRate:N0} events/s", ">= 500,000 events/s with both cores"));
        results.Add(($"  same, every event a command line holding secrets (all found and replaced)", $"{secretRate:N0} events/s", ""));
        results.Add(($"  cost on one core: building segments from them (JSON Lines + timeline + DEFLATE)", $"{buildRate:N0} events/s", ""));
        results.Add(($"  machine limit: the store alone ({name}) committing the same rows, {senders} writers", $"{events / raw.Seconds:N0} events/s (CPU {raw.Cpu:N0}%)", ""));
    }

    /// <summary>Events a second one thread gets through, doing one batch after another for two seconds.</summary>
    private static double PerCore(Action<int> batch)
    {
        var watch = Stopwatch.StartNew();
        var done = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(2))
            batch(done++);
        return done * (double)BatchSize / watch.Elapsed.TotalSeconds;
    }

    /// <summary>Runs one task per sender at once; wall time and CPU (percent of one core) of the whole process.</summary>
    internal static async Task<(double Seconds, double Cpu)> Measure(int senders, Func<int, Task> send)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, senders).Select(s => Task.Run(() => send(s))));
        watch.Stop();
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return (watch.Elapsed.TotalSeconds, used.TotalSeconds / watch.Elapsed.TotalSeconds * 100);
    }

    /// <summary>A host's mix: processes starting and exiting, files read and written, connections and lookups, in four containers and on the host.</summary>
    public static List<TelemetryEvent> Events(int seed, int count)
    {
        var random = new Random(seed);
        var containers = Enumerable.Range(0, 4).Select(c => new ContainerRef { Id = $"{seed:x4}c0ffee{c:x2}", Name = $"app-{c}", Image = $"registry.example.com/app-{c}:1.{c}" }).ToArray();
        var start = DateTimeOffset.UtcNow.AddMinutes(-seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var time = start.AddMilliseconds(i * 2 + random.Next(2));
            var container = i % 5 == 4 ? null : containers[i % 4];
            var pid = 1000 + random.Next(30000);
            TelemetryEvent e = (random.Next(20)) switch
            {
                < 8 => new FileAccessEvent { Pid = pid, ProcessName = "java", Path = $"/srv/app/data/{random.Next(5000)}.dat", Operation = random.Next(3) == 0 ? FimOperation.Write : FimOperation.Read },
                < 13 => new ProcessStartEvent { Pid = pid, Ppid = pid - 1, ParentProcessName = "bash", ProcessName = "curl", Executable = "/usr/bin/curl", Args = ["curl", "-s", $"https://api.example.com/v1/items/{random.Next(100000)}"], User = "app", Uid = 1000, Cwd = "/srv/app" },
                < 16 => new NetworkConnectEvent { Pid = pid, ProcessName = "curl", Protocol = NetworkProtocol.Tcp, LocalAddress = "10.0.3.7", LocalPort = 30000 + random.Next(30000), RemoteAddress = $"203.0.113.{random.Next(255)}", RemotePort = 443 },
                < 18 => new DnsQueryEvent { Pid = pid, ProcessName = "curl", Name = $"svc-{random.Next(100)}.example.com", Answers = [$"203.0.113.{random.Next(255)}"] },
                _ => new ProcessExitEvent { Pid = pid, ProcessName = "curl", ExitCode = 0 },
            };
            e.Id = $"e{i}";
            e.Time = time;
            e.Container = container;
            return e;
        }).ToList();
    }

    /// <summary>Sends a push to the discard endpoint instead: the same client, the same bytes.</summary>
    private sealed class ToDiscard() : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.RequestUri = new Uri(request.RequestUri!, "/bench/discard");
            return base.SendAsync(request, cancellationToken);
        }
    }
}

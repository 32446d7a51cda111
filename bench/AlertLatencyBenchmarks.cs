using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Platform.Agent.Enforcement;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// How long a refused attempt on a <c>prevent</c> rule's file takes to be an alert the api lists (issue 21): the agent's
/// Release build (kernel sensor, inode attributes, FIM watcher) keeps a rule on <c>latencyFiles</c> files (200); one
/// refused open for writing of each, from a fresh process (bench/Storm/storm.c's <c>attempt</c>, which reads the wall
/// clock just before the open), spaced by the agent's linger (<c>latencyLinger</c> ms, the agent's default 1000) plus
/// 250 ms so that each is delivered in a batch of its own; each timed until a listFimAlerts answer (polled every
/// <c>latencyPollMs</c>, 10) holds its alert. Its parts: the sensor's record, the agent's alert into its disk spool,
/// the delivery's linger, the push, the api's checks and commit, and the poll.
/// </summary>
public static class AlertLatencyBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var attempts = settings.GetValueOrDefault("latencyFiles", 200);
        var linger = settings.GetValueOrDefault("latencyLinger", 1000);
        var poll = TimeSpan.FromMilliseconds(settings.GetValueOrDefault("latencyPollMs", 10));
        var spacing = TimeSpan.FromMilliseconds(linger + 250);

        var generator = await SensorBenchmarks.Generator.BuildAsync();
        await using var api = new BenchApi(StorageProvider.Sqlite);
        var admin = api.Client(api.AdminSecret);
        var root = Directory.CreateTempSubdirectory("bench-latency-").FullName;
        try
        {
            var files = Enumerable.Range(0, attempts + 1).Select(i => Path.Combine(root, $"key-{i}.pem")).ToList();
            foreach (var file in files)
                File.WriteAllText(file, "-----BEGIN PRIVATE KEY-----\n");
            await admin.CreateFimRuleAsync(new FimRuleSpec
            {
                Name = "bench-latency-keys",
                Severity = FimSeverity.High,
                Scope = new FimScope { Hostnames = ["bench-sensor-ebpf"] },
                Paths = [new FimPath { Path = root, Recursive = true }],
                Operations = [FimOperation.Write, FimOperation.Delete, FimOperation.Rename, FimOperation.Metadata],
                Effect = FimEffect.Prevent,
            });

            var agent = await SensorBenchmarks.BenchAgent.StartAsync(api, "ebpf", new Dictionary<string, string>
            {
                ["Platform__Agent__WatchFiles"] = "true",
                ["Platform__Agent__Enforcement__Mode"] = "inode-attributes",
                ["Platform__Agent__LingerMilliseconds"] = linger.ToString(CultureInfo.InvariantCulture),
            });
            await using (agent)
            {
                await UntilAsync(() => Task.FromResult(files.All(f => Immutable(f))), "the agent to protect the files");
                var latencies = await MeasureAsync(admin, agent.AgentId, generator, files, spacing, poll);
                var sorted = latencies.Select(l => l.TotalMilliseconds).Order().ToArray();
                double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
                results.Add(($"FIM alert latency: a refused open for writing (a fresh process each) until listFimAlerts has its alert "
                    + $"(eBPF sensor, inode attributes; agent linger {linger} ms, each attempt alone in its batch, spool on disk; api on SQLite; polled every {poll.TotalMilliseconds:N0} ms; load average {Load()})",
                    $"median {At(0.5):N0} ms, p99 {At(0.99):N0} ms, max {sorted[^1]:N0} ms ({sorted.Length} attempts)",
                    "reported"));
            }
        }
        finally
        {
            await RunAsync("chattr", "-R", "-i", "-a", root); // what the killed agent left in force
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Warms the path up with the first file (its alert awaited), then makes one refused attempt on each other file every
    /// <paramref name="spacing"/>, while a poller lists the agent's recent alerts: each attempt's time to its alert.
    /// </summary>
    private static async Task<List<TimeSpan>> MeasureAsync(PlatformClient admin, string agentId, SensorBenchmarks.Generator generator, List<string> files, TimeSpan spacing, TimeSpan poll)
    {
        var pending = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var seen = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!pending.IsEmpty)
                {
                    var since = pending.Values.Min().AddSeconds(-2);
                    var page = await admin.ListFimAlertsAsync(limit: 200, agentId: agentId, since: since);
                    var now = DateTimeOffset.UtcNow;
                    foreach (var alert in page.Items)
                    {
                        if (pending.TryRemove(alert.Path, out _))
                            seen[alert.Path] = now;
                    }
                }

                await Task.Delay(poll);
            }
        });

        var attempted = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        try
        {
            foreach (var (file, index) in files.Select((f, i) => (f, i)))
            {
                var (time, errno) = await generator.AttemptAsync(file);
                if (errno != 1)
                    throw new InvalidOperationException($"the open of {file} was not refused with EPERM (errno {errno})");
                attempted[file] = time;
                pending[file] = time;
                if (index == 0)
                    await UntilAsync(() => Task.FromResult(seen.ContainsKey(file)), "the warm-up attempt's alert");
                else
                    await Task.Delay(spacing);
            }

            await UntilAsync(() => Task.FromResult(pending.IsEmpty), "every attempt's alert");
        }
        finally
        {
            await stop.CancelAsync();
            await poller;
        }

        return files.Skip(1).Select(f => seen[f] - attempted[f]).ToList();
    }

    private static bool Immutable(string path)
    {
        var stat = InodeFlags.Stat(path, out _);
        return stat is { } s && s.KernelFlags.HasFlag(InodeFlag.Immutable);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
                throw new TimeoutException($"waited two minutes for {what}");
            await Task.Delay(20);
        }
    }

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static async Task RunAsync(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        await process.WaitForExitAsync();
    }
}

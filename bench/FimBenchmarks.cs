using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Contracts;

namespace Platform.Bench;

// Benchmarks of the FIM targets, end to end over HTTP against the api on real Kestrel with SQLite:
//   1. alert ingest: batches of 500 distinct alerts (no folding: the worst case), several agents at once;
//   2. effective policy GET with 1,000 rules and 10,000 agents: latency of full (200) answers and of 304s.
// Usage: dotnet run -c Release --project bench -- [alerts=200000] [agents=10000] [rules=1000]
/// <summary>The FIM targets: alert ingest and the effective policy GET.</summary>
public static class FimBenchmarks
{
    public static async Task RunAsync(BenchApi api, IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        int totalAlerts = settings.GetValueOrDefault("alerts", 200_000), agentCount = settings.GetValueOrDefault("agents", 10_000), ruleCount = settings.GetValueOrDefault("rules", 1_000);
        var admin = api.Client(api.AdminSecret);
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = { new JsonStringEnumConverter() } };

        // --- 1. Alert ingest -------------------------------------------------------------------------------
        var rule = await admin.CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "bench-ingest", Severity = FimSeverity.High, Scope = new FimScope { Hostnames = ["ingest-*"] },
            Paths = [new FimPath { Path = "/srv", Recursive = true }], Operations = [FimOperation.Write], Effect = FimEffect.Alert,
        });
        int senders = settings.GetValueOrDefault("senders", 4); const int batchSize = 500;
        var ingestAgents = new List<(string Id, string Secret)>();
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench", MaxUses = senders });
        for (var i = 0; i < senders; i++)
        {
            var enrolled = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = $"ingest-{i}", Os = "linux", AgentVersion = "bench" });
            ingestAgents.Add((enrolled.Agent.Id, enrolled.Secret));
        }

        // Bodies are serialised before the clock starts: the server's work is what is measured.
        var batchesPerSender = totalAlerts / batchSize / senders;
        async Task<string> Ingest(Func<int, int, int, string> id, Func<int, int, int, string> path)
        {
            var t0 = DateTimeOffset.UtcNow;
            var bodies = ingestAgents.Select((agent, s) => Enumerable.Range(0, batchesPerSender).Select(b => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new FimAlertBatch
            {
                Alerts = Enumerable.Range(0, batchSize).Select(i => (Id: id(s, b, i), Path: path(s, b, i))).Select((a, i) => new FimAlertReport
                {
                    Id = a.Id, Time = t0.AddMilliseconds(b * batchSize + i), RuleId = rule.Id, RuleVersion = rule.Version,
                    Path = a.Path, Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available,
                    Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", CommandLine = $"vi {a.Path}", User = "deploy", Uid = 1001 },
                    After = new FimFileState { Sha256 = new string('a', 64), Size = 1234, Mode = "0640" },
                }).ToList(),
            }, json))).ToList()).ToList();

            await Send(api.Http(ingestAgents[0].Secret), ingestAgents[0].Id, bodies[0][0]); // warm-up batch (also stored)
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(ingestAgents.Select((agent, s) => Task.Run(async () =>
            {
                var http = api.Http(agent.Secret);
                foreach (var body in bodies[s].Skip(s == 0 ? 1 : 0))
                    await Send(http, agent.Id, body);
            })));
            stopwatch.Stop();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var sent = senders * batchesPerSender * batchSize - batchSize;
            return $"{sent / stopwatch.Elapsed.TotalSeconds:N0} alerts/s ({sent:N0} alerts in {stopwatch.Elapsed.TotalSeconds:N1} s, CPU {cpu.TotalSeconds / stopwatch.Elapsed.TotalSeconds * 100:N0}% of one core, client included)";
        }

        // A burst as it happens (a deploy, or ransomware walking a tree): each batch's files in one directory,
        // alert ids in the order the agent made them.
        results.Add(($"FIM alert ingest (HTTP + validation + SQLite), batches of 500, {senders} agents at once", await Ingest((s, b, i) => $"{s}-{b}-{i}", (s, b, i) => $"/srv/app/{b}/{i}.cfg"), ">= 20,000 alerts/s"));
        // The worst case for the indexes: every alert a random path and a random id (no locality at all), on
        // top of the alerts already stored.
        var random = new Random(7);
        string RandomHex() => random.NextInt64().ToString("x16", CultureInfo.InvariantCulture);
        results.Add(("  same, worst case: random paths and random alert ids", await Ingest((s, b, i) => RandomHex(), (s, b, i) => $"/srv/{RandomHex()}/{RandomHex()}.cfg"), ""));

        // --- 2. Effective policy --------------------------------------------------------------------------
        var teams = Enumerable.Range(0, 100).Select(t => $"team-{t}").ToArray();
        var rules = Enumerable.Range(0, ruleCount).Select(i => new FimRuleSpec
        {
            Name = $"policy-{i:D4}", Severity = FimSeverity.Medium,
            // Half the rules select by label (10 teams each), half by host name glob.
            Scope = i % 2 == 0
                ? new FimScope { Labels = new Dictionary<string, string> { ["team"] = teams[i / 2 % teams.Length] } }
                : new FimScope { Hostnames = [$"host-{i % 100:D2}*"] },
            Paths = [new FimPath { Path = $"/srv/app{i}/config", Recursive = true }, new FimPath { Path = $"/etc/app{i}.conf" }],
            Operations = [FimOperation.Write, FimOperation.Delete], Effect = FimEffect.Alert,
        }).ToList();
        await admin.ApplyFimRuleSetAsync(new FimRuleSet { Rules = rules }); // replaces the ingest rule: exactly ruleCount rules

        var policyAgents = new string[agentCount];
        var enrollAll = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-policy", MaxUses = agentCount });
        var enrollWatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, agentCount), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var enrolled = await api.Client(enrollAll.Secret).EnrollAgentAsync(new AgentEnroll
            {
                Hostname = $"host-{i % 100:D2}-{i:D5}", Os = "linux", AgentVersion = "bench",
                Labels = new Dictionary<string, string> { ["team"] = teams[i % teams.Length] },
            }, ct);
            policyAgents[i] = enrolled.Agent.Id;
        });
        enrollWatch.Stop();

        var policyHttp = api.Http(api.AdminSecret);
        random = new Random(42);
        var full = new List<double>();
        var notModified = new List<double>();
        var sizes = new List<long>();
        for (var i = 0; i < 3000; i++)
        {
            var agentId = policyAgents[random.Next(agentCount)];
            var watch = Stopwatch.StartNew();
            using var response = await policyHttp.GetAsync($"/api/v1/agents/{agentId}/fim-policy");
            var body = await response.Content.ReadAsByteArrayAsync();
            watch.Stop();
            if (response.StatusCode != HttpStatusCode.OK)
                throw new InvalidOperationException($"policy GET gave {response.StatusCode}");
            if (i >= 200)
            {
                full.Add(watch.Elapsed.TotalMilliseconds);
                sizes.Add(body.Length);
            }

            using var conditional = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agentId}/fim-policy");
            conditional.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            watch.Restart();
            using var unchanged = await policyHttp.SendAsync(conditional);
            watch.Stop();
            if (unchanged.StatusCode != HttpStatusCode.NotModified)
                throw new InvalidOperationException($"conditional policy GET gave {unchanged.StatusCode}");
            if (i >= 200)
                notModified.Add(watch.Elapsed.TotalMilliseconds);
        }

        results.Add(($"Effective policy GET, {ruleCount:N0} rules, {agentCount:N0} agents (200, ~{sizes.Average() / 1024:N0} KiB)", Percentiles(full), "< 5 ms median"));
        results.Add(("Effective policy GET with If-None-Match (304)", Percentiles(notModified), ""));
        results.Add(($"(setup) enrolling {agentCount:N0} agents over HTTP, 8 at a time", $"{agentCount / enrollWatch.Elapsed.TotalSeconds:N0} enrollments/s", ""));

    }

    static async Task Send(HttpClient http, string agentId, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"/api/v1/agents/{agentId}/fim-alerts", content);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"ingest gave {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    static string Percentiles(List<double> samples) => Benchmarks.Percentiles(samples);
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Bench;

/// <summary>
/// What the costliest requests an analyst token may send cost the api in CPU, one at a time, on a large store: the
/// api runs as its own process on SQLite and its CPU time (utime + stime from /proc, 10 ms resolution) is read
/// before and after each request. The target is at most 1 s of CPU for any request (issue 18); the baseline is an
/// ordinary request (a page of 200 alerts) measured the same way in the same run.
/// </summary>
public static class AnalystCostBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        int alertCount = settings.GetValueOrDefault("analystAlerts", 300_000), eventCount = settings.GetValueOrDefault("analystEvents", 2_000_000);
        var data = Directory.CreateTempSubdirectory("platform-bench-analyst-").FullName;
        try
        {
            var (adminSecret, analystSecret, agentId) = await FillAsync(data, alertCount, eventCount);
            await using var api = await ApiProcess.StartAsync(data, adminSecret);
            using var http = api.Http(analystSecret);
            var glob = "/" + string.Concat(Enumerable.Repeat("*a", 9)) + "*b";   // 10 stars, matches nothing stored
            var requests = new (string Name, string Path, bool Cold)[]
            {
                ("baseline: a page of 200 FIM alerts, no filter", "/api/v1/fim/alerts?limit=200", false),
                ($"FIM alerts, pathGlob with 10 stars matching none of {alertCount:N0}", $"/api/v1/fim/alerts?limit=200&pathGlob={Uri.EscapeDataString(glob)}", false),
                ($"FIM alerts, a host with none of {alertCount:N0}", "/api/v1/fim/alerts?limit=200&hostname=nobody.example.com", false),
                ($"FIM alerts export (JSON Lines), no filter, of {alertCount:N0}", "/api/v1/fim/alerts/export", false),
                ($"FIM alerts export (CSV), pathGlob with 10 stars", $"/api/v1/fim/alerts/export?format=csv&pathGlob={Uri.EscapeDataString(glob)}", false),
                ($"flight data, a kind the host has none of, {eventCount:N0} events", $"/api/v1/telemetry/events?agentId={agentId}&kind=network_listen&limit=200", false),
                ($"flight data, 200 events from the middle of {eventCount:N0}", $"/api/v1/telemetry/events?agentId={agentId}&limit=200&since={Uri.EscapeDataString(Start.AddMinutes(15).ToString("O", CultureInfo.InvariantCulture))}", false),
                ("500-line host view", $"/api/v1/agents/{agentId}/forensics/recent?limit=500", false),
                ("incidents, a host with none", "/api/v1/incidents?limit=200&hostname=nobody.example.com", false),
                ("PCI report of the host", $"/api/v1/agents/{agentId}/pci-report", false),
                ($"host bundle, one minute of {eventCount:N0} events, not built yet", $"/api/v1/agents/{agentId}/forensics/bundle?from={Uri.EscapeDataString(Window(0))}&until={Uri.EscapeDataString(Window(1))}", true),
                ($"host bundle, all {eventCount:N0} events, not built yet (202: built in the background)", $"/api/v1/agents/{agentId}/forensics/bundle?from={Uri.EscapeDataString(Start.ToString("O", CultureInfo.InvariantCulture))}&until={Uri.EscapeDataString(Start.AddDays(1).ToString("O", CultureInfo.InvariantCulture))}", true),
                ($"host bundle, all {eventCount:N0} events, built already", $"/api/v1/agents/{agentId}/forensics/bundle?from={Uri.EscapeDataString(Start.ToString("O", CultureInfo.InvariantCulture))}&until={Uri.EscapeDataString(Start.AddDays(1).ToString("O", CultureInfo.InvariantCulture))}", false),
            };

            // Warm up every path (the JIT's cost is not the request's), then measure each three times, one at a time.
            // A bundle built in the background is waited for here, so that "built already" is.
            foreach (var request in requests)
            {
                while ((await SendAsync(http, request.Path)).Status == HttpStatusCode.Accepted)
                    await Task.Delay(100);
            }
            double? baseline = null;
            foreach (var (name, path, cold) in requests)
            {
                var worst = 0.0;
                var status = HttpStatusCode.OK;
                for (var round = 0; round < (cold ? 1 : 3); round++)
                {
                    if (cold)
                        DeleteBundles(data);
                    var before = CpuSeconds(api.Pid);
                    var (answer, bytes) = await SendAsync(http, path);
                    worst = Math.Max(worst, CpuSeconds(api.Pid) - before);
                    // A build this request queued runs now, before the next measurement (its CPU is not the request's).
                    if (answer == HttpStatusCode.Accepted)
                        await WaitForBuildsAsync(http, [path]);
                    status = answer;
                    if (round == 0 && name.StartsWith("baseline", StringComparison.Ordinal) is false)
                        Console.Error.WriteLine($"{name}: {(int)answer}, {bytes:N0} bytes");
                }

                baseline ??= Math.Max(worst, 0.01);
                results.Add(($"analyst request CPU: {name} ({(int)status})", $"{worst * 1000:N0} ms ({worst / baseline:N1}x the baseline)", name.StartsWith("baseline", StringComparison.Ordinal) ? "" : "<= 1,000 ms"));
            }
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }

        static string Window(int minutes) => Start.AddMinutes(10 + minutes).ToString("O", CultureInfo.InvariantCulture);
    }

    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.Date.AddDays(-1);

    private static async Task<(HttpStatusCode Status, long Bytes)> SendAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
            total += read;
        return (response.StatusCode, total);
    }

    /// <summary>The process's user + system CPU time so far, from /proc/PID/stat (in clock ticks of 10 ms).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>Background builds queued by a measured request finish before the next measurement starts.</summary>
    private static async Task WaitForBuildsAsync(HttpClient http, IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            while ((await SendAsync(http, path)).Status == HttpStatusCode.Accepted)
                await Task.Delay(100);
        }
    }

    private static void DeleteBundles(string data)
    {
        var bundles = Path.Combine(data, "bundles");
        if (Directory.Exists(bundles))
            foreach (var file in Directory.GetFiles(bundles))
                File.Delete(file);
    }

    /// <summary>FIM alerts through the push (two agents, batches of 500), flight data through the store; an analyst token.</summary>
    private static async Task<(string AdminSecret, string AnalystSecret, string AgentId)> FillAsync(string data, int alertCount, int eventCount)
    {
        await using var api = new BenchApi(StorageProvider.Sqlite, data);
        var admin = api.Client(api.AdminSecret);
        var analyst = await admin.CreateTokenAsync(new TokenCreate { Name = "bench-analyst", Role = Role.Analyst });
        var rule = await admin.CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "bench-analyst", Severity = FimSeverity.High, Scope = new FimScope { Hostnames = ["analyst-*"] },
            Paths = [new FimPath { Path = "/srv", Recursive = true }], Operations = [FimOperation.Write], Effect = FimEffect.Alert,
        });
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-analyst" });
        var host = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "analyst-0", Os = "linux", AgentVersion = "bench" });
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = { new JsonStringEnumConverter() } };
        var push = api.Http(host.Secret);
        for (var b = 0; b < alertCount / 500; b++)
        {
            var batch = new FimAlertBatch
            {
                Alerts = Enumerable.Range(0, 500).Select(i => new FimAlertReport
                {
                    Id = $"a-{b}-{i}", Time = Start.AddSeconds(b), RuleId = rule.Id, RuleVersion = rule.Version,
                    Path = $"/srv/app/{b % 97}/{new string('x', 150)}/{i}.cfg", Action = FimOperation.Write, Effect = FimAlertEffect.Alerted,
                    Attribution = FimAttribution.Available,
                    Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", CommandLine = "vi", User = "deploy", Uid = 1001 },
                }).ToList(),
            };
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(batch, json)));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await push.PostAsync($"/api/v1/agents/{host.Agent.Id}/fim-alerts", content);
            response.EnsureSuccessStatusCode();
        }

        await ForensicBenchmarks.Fill(api.Services.GetRequiredService<TelemetryStore>(), host.Agent.Id, "analyst-0", Start, eventCount);
        return (api.AdminSecret, analyst.Secret, host.Agent.Id);
    }
}

using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Bench;

/// <summary>
/// The forensic reads on SQLite: the 500-line view of a host with millions of stored events, and the full
/// bundle of a large window (its build and download speed, in uncompressed event data a second, and the
/// api process's peak memory). The data goes in through the store (the ingest path has its own figures).
/// </summary>
public static class ForensicBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        long viewEvents = settings.GetValueOrDefault("viewEvents", 10_000_000), bundleMegabytes = settings.GetValueOrDefault("bundleMB", 1024);
        var data = Directory.CreateTempSubdirectory("platform-bench-forensics-").FullName;
        try
        {
            var (bundleAgentId, adminSecret, rawBytes) = await FillAndViewAsync(data, viewEvents, bundleMegabytes, results);
            await BundleAsync(data, adminSecret, bundleAgentId, rawBytes, results);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>Stores the data (through the store, in this process) and measures the 500-line view.</summary>
    private static async Task<(string BundleAgentId, string AdminSecret, long RawBytes)> FillAndViewAsync(string data, long viewEvents, long bundleMegabytes, List<(string Benchmark, string Figure, string Target)> results)
    {
        await using var api = new BenchApi(StorageProvider.Sqlite, data);
        var admin = api.Client(api.AdminSecret);
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-forensics", MaxUses = 2 });
        var viewHost = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "view-host", Os = "linux", AgentVersion = "bench" });
        var bundleHost = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = "bundle-host", Os = "linux", AgentVersion = "bench" });
        var store = api.Services.GetRequiredService<TelemetryStore>();

        // --- 500-line view with millions of events stored (on this host, plus as many on another) --------------
        var start = DateTimeOffset.UtcNow.AddDays(-1);
        var fill = Stopwatch.StartNew();
        await Fill(store, viewHost.Agent.Id, "view-host", start, viewEvents);
        await Fill(store, bundleHost.Agent.Id, "bundle-host", start, bundleMegabytes * 1024 * 1024 / 260); // ~260 bytes an event
        fill.Stop();
        var http = api.Http(api.AdminSecret);
        var samples = new List<double>();
        for (var i = 0; i < 300; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync($"/api/v1/agents/{viewHost.Agent.Id}/forensics/recent?limit=500");
            var body = await response.Content.ReadAsByteArrayAsync();
            watch.Stop();
            response.EnsureSuccessStatusCode();
            if (i >= 20)
                samples.Add(watch.Elapsed.TotalMilliseconds);
        }

        results.Add(($"500-line host view (JSON) with {viewEvents:N0} events stored for the host (SQLite)", Benchmarks.Percentiles(samples), "< 20 ms median"));
        results.Add(("  (setup) storing the view and bundle data through the store", $"{(viewEvents + bundleMegabytes * 1024 * 1024 / 260) / fill.Elapsed.TotalSeconds:N0} events/s", ""));
        return (bundleHost.Agent.Id, api.AdminSecret, await RawBytes(api, bundleHost.Agent.Id));
    }

    /// <summary>
    /// The full bundle, from the api in a process of its own on the same data (as deployed: its peak RSS is the
    /// api's alone). Built and downloaded by the freshly started api (the JIT still compiling the code it runs,
    /// shown apart), built again from scratch by the warm api (the figure), then downloaded once more (served
    /// from the built file).
    /// </summary>
    private static async Task BundleAsync(string data, string adminSecret, string agentId, long rawBytes, List<(string Benchmark, string Figure, string Target)> results)
    {
        await using var api = await ApiProcess.StartAsync(data, adminSecret);
        using var http = api.Http(adminSecret);
        var startedAt = api.PeakResidentMegabytes();
        async Task<TimeSpan> Download()
        {
            var watch = Stopwatch.StartNew();
            var url = $"/api/v1/agents/{agentId}/forensics/bundle";
            var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            // A bundle this large is built in the background: ask its Location again until it is there.
            while (response.StatusCode == System.Net.HttpStatusCode.Accepted)
            {
                url = response.Headers.Location!.OriginalString;
                response.Dispose();
                await Task.Delay(50);
                response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
            }

            using var _ = response;
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.CopyToAsync(Stream.Null);
            return watch.Elapsed;
        }

        var cold = await Download();
        foreach (var built in Directory.GetFiles(Path.Combine(data, "bundles"), "*.zip"))
            File.Delete(built);
        var warm = await Download();
        var peak = api.PeakResidentMegabytes();
        var again = await Download();
        string Speed(TimeSpan elapsed) => $"{rawBytes / 1048576.0 / elapsed.TotalSeconds:N0} MB/s ({elapsed.TotalSeconds:N1} s)";
        results.Add(($"Full bundle of {rawBytes / 1048576.0:N0} MB of event data (events.jsonl), built and downloaded (SQLite, api in its own process)",
            $"{Speed(warm)}, api peak RSS {peak:N0} MB (at start {startedAt:N0} MB)", ">= 150 MB/s, RSS < 200 MB"));
        results.Add(("  the same, the first bundle after the api started (the JIT still compiling what it runs)", Speed(cold), ""));
        results.Add(("  the same bundle downloaded again (built already)", Speed(again), ""));
    }

    /// <summary>Stores <paramref name="count"/> events for the host in batches of 500, a millisecond apart, through the store.</summary>
    internal static async Task Fill(TelemetryStore store, string agentId, string hostname, DateTimeOffset start, long count)
    {
        var templates = Enumerable.Range(0, 16).Select(t => TelemetryBenchmarks.Events(t, 500)).ToList();
        var batches = count / 500;
        await Parallel.ForAsync(0, 2, async (worker, cancellationToken) =>
        {
            for (var b = worker; b < batches; b += 2)
            {
                var events = templates[(int)(b % templates.Count)];
                var time = start.AddMilliseconds(b * 500);
                foreach (var (e, i) in events.Select((e, i) => (e, i)))
                    e.Time = time.AddMilliseconds(i);
                await store.IngestAsync(agentId, $"fill-{b}", b + 1, Segments.Build(events, hostname), DateTimeOffset.UtcNow, cancellationToken);
            }
        });
    }

    private static async Task<long> RawBytes(BenchApi api, string agentId)
    {
        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        await using var command = db.CreateCommand();
        command.CommandText = "select sum(raw_bytes) from telemetry_segment where agent_id = @agentId";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@agentId";
        parameter.Value = agentId;
        command.Parameters.Add(parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

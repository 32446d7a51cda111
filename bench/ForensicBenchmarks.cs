using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// The forensic reads on SQLite: the 500-line view of a host with millions of stored events, and the full
/// bundle of a large window (its build and download speed, in uncompressed event data a second, and the
/// process's peak memory meanwhile). The data goes in through the store (the ingest path has its own figures).
/// </summary>
public static class ForensicBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        long viewEvents = settings.GetValueOrDefault("viewEvents", 10_000_000), bundleMegabytes = settings.GetValueOrDefault("bundleMB", 1024);
        await using var api = new BenchApi(StorageProvider.Sqlite);
        var admin = api.Client(api.AdminSecret);
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-forensics" });
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

        // --- Full bundle ---------------------------------------------------------------------------------------
        using var memory = new PeakMemory();
        var download = Stopwatch.StartNew();
        using (var response = await http.GetAsync($"/api/v1/agents/{bundleHost.Agent.Id}/forensics/bundle", HttpCompletionOption.ResponseHeadersRead))
        {
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.CopyToAsync(Stream.Null);
        }

        download.Stop();
        var rawBytes = await RawBytes(api, bundleHost.Agent.Id);
        var again = Stopwatch.StartNew();
        using (var response = await http.GetAsync($"/api/v1/agents/{bundleHost.Agent.Id}/forensics/bundle", HttpCompletionOption.ResponseHeadersRead))
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.CopyToAsync(Stream.Null);
        }

        again.Stop();
        results.Add(($"Full bundle of {rawBytes / 1048576.0:N0} MB of event data (events.jsonl), built and downloaded (SQLite)",
            $"{rawBytes / 1048576.0 / download.Elapsed.TotalSeconds:N0} MB/s ({download.Elapsed.TotalSeconds:N1} s), peak RSS {memory.PeakMegabytes:N0} MB (whole process: api and client)",
            ">= 150 MB/s, RSS < 200 MB"));
        results.Add(("  the same bundle downloaded again (built already)", $"{rawBytes / 1048576.0 / again.Elapsed.TotalSeconds:N0} MB/s ({again.Elapsed.TotalSeconds:N1} s)", ""));
        results.Add(("  (setup) storing the view and bundle data through the store", $"{(viewEvents + bundleMegabytes * 1024 * 1024 / 260) / fill.Elapsed.TotalSeconds:N0} events/s", ""));
    }

    /// <summary>Stores <paramref name="count"/> events for the host in batches of 500, a millisecond apart, through the store.</summary>
    private static async Task Fill(TelemetryStore store, string agentId, string hostname, DateTimeOffset start, long count)
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

    /// <summary>Samples the process's resident memory every 20 ms until disposed.</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sampling;
        private long _peak;

        public PeakMemory()
        {
            _sampling = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    using var process = Process.GetCurrentProcess();
                    _peak = Math.Max(_peak, process.WorkingSet64);
                    await Task.Delay(20);
                }
            });
        }

        public double PeakMegabytes => _peak / 1048576.0;

        public void Dispose()
        {
            _stop.Cancel();
            _sampling.Wait();
        }
    }
}

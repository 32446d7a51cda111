using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Incidents;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// Detection against ingest (the same pushes with detection off and on, rounds alternating in one process), and
/// the SOAR list with filters over 100,000 incidents.
/// </summary>
public static class IncidentBenchmarks
{
    private const int BatchSize = 500;

    public static async Task DetectionAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        int totalEvents = settings.GetValueOrDefault("events", 1_000_000), senders = settings.GetValueOrDefault("senders", 8);
        await using var off = new BenchApi(StorageProvider.Sqlite, settings: new Dictionary<string, string> { ["Platform:Detection:Enabled"] = "false" });
        // handoff=0 measures detection reading every batch back from storage (as for another instance's batches).
        await using var on = new BenchApi(StorageProvider.Sqlite, settings: settings.TryGetValue("handoff", out var handoff)
            ? new Dictionary<string, string> { ["Platform:Detection:HandoffMegabytes"] = handoff.ToString(System.Globalization.CultureInfo.InvariantCulture) } : null);
        var targets = new List<(BenchApi Api, List<(string Id, string Secret)> Agents)>();
        foreach (var api in new[] { off, on })
        {
            var admin = api.Client(api.AdminSecret);
            var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-detection", MaxUses = senders });
            var agents = new List<(string, string)>();
            for (var s = 0; s < senders; s++)
            {
                var enrolled = await api.Client(enrollment.Secret).EnrollAgentAsync(new AgentEnroll { Hostname = $"node-{s}", Os = "linux", AgentVersion = "bench" });
                agents.Add((enrolled.Agent.Id, enrolled.Secret));
            }

            targets.Add((api, agents));
        }

        var templates = Enumerable.Range(0, senders).Select(s => Enumerable.Range(0, 8).Select(t => TelemetryBenchmarks.Events(s * 100 + t, BatchSize)).ToList()).ToList();
        var batchesPerSender = totalEvents / BatchSize / senders;
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var events = (long)batchesPerSender * senders * BatchSize;
        var ratios = new List<(double Ingest, double UntilDetected, double Off, double On, double Detected, double CpuOff, double CpuOn)>();

        // Rounds of one push with detection off and one with it on, in alternating order (neither always goes
        // first); the first two rounds warm up (as in suite=telemetry: the rules' code is compiled again, optimised,
        // during the second). A round is a few seconds, and the machine's own noise between two such
        // runs is a fifth either way: the figure is the median of the rounds' ratios, with their range.
        const int WarmUp = 2;
        var rounds = Math.Max(WarmUp + 1, settings.GetValueOrDefault("rounds", 11));
        for (var round = 0; round < rounds; round++)
        {
            (double Seconds, double Cpu) withoutDetection = default, withDetection = default;
            double untilDetected = 0;
            var gc = new Dictionary<BenchApi, string>();
            foreach (var (api, agents) in round % 2 == 0 ? targets : Enumerable.Reverse(targets))
            {
                var first = round * batchesPerSender;
                var (pause, gen0, gen1, gen2, allocated) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalAllocatedBytes());
                var watch = Stopwatch.StartNew();
                var measured = await TelemetryBenchmarks.Measure(senders, async s =>
                {
                    var client = api.Client(agents[s].Secret);
                    for (var b = first; b < first + batchesPerSender; b++)
                    {
                        // Templates each sender pushes one at a time, moved to second b of the run.
                        var template = AtSecond(templates[s][b % 8], start, b);
                        await client.PushTelemetryAsync(new TelemetryBatch { Id = $"e-{b}", Sequence = b + 1, Events = template }, agents[s].Id);
                    }
                });
                gc[api] = $"GC paused {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:N0} ms, collections {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}, allocated {(GC.GetTotalAllocatedBytes() - allocated) >> 20:N0} MiB";
                if (api == off)
                {
                    withoutDetection = measured;
                    continue;
                }

                // Keeping up: ingest is only done when detection has seen it all.
                await api.Services.GetRequiredService<IncidentDetector>().DrainAsync(CancellationToken.None);
                await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
                if (await db.ExecuteScalarAsync<int>("select count(*) from detection_queue") != 0)
                    throw new InvalidOperationException("detection left batches queued");
                (withDetection, untilDetected) = (measured, watch.Elapsed.TotalSeconds);
            }

            Console.Error.WriteLine($"detection round {round}{(round < WarmUp ? " (warm-up)" : "")}: off {events / withoutDetection.Seconds:N0} events/s, on {events / withDetection.Seconds:N0}, until detected {events / untilDetected:N0}; off {gc[off]}; on {gc[on]}");
            if (round >= WarmUp)
            {
                ratios.Add((withoutDetection.Seconds / withDetection.Seconds, withoutDetection.Seconds / untilDetected, events / withoutDetection.Seconds, events / withDetection.Seconds,
                    events / untilDetected, withoutDetection.Cpu, withDetection.Cpu));
            }
        }

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }

        results.Add(($"Flight data ingest (SQLite, {senders} agents, batches of {BatchSize}, {events:N0} events a run) with detection on, against off ({ratios.Count} rounds)",
            $"{Median(ratios.Select(r => r.Ingest)):P0} of the rate without (median; rounds {ratios.Min(r => r.Ingest):P0}-{ratios.Max(r => r.Ingest):P0}): "
            + $"{Median(ratios.Select(r => r.On)):N0} events/s on ({Median(ratios.Select(r => r.CpuOn)):N0}% CPU) vs {Median(ratios.Select(r => r.Off)):N0} off ({Median(ratios.Select(r => r.CpuOff)):N0}% CPU)",
            ">= 80%"));
        results.Add(("  with detection, until every batch was also detected (queue empty)",
            $"{Median(ratios.Select(r => r.UntilDetected)):P0} of ingest without detection (median; rounds {ratios.Min(r => r.UntilDetected):P0}-{ratios.Max(r => r.UntilDetected):P0}): {Median(ratios.Select(r => r.Detected)):N0} events/s",
            "(stricter reading)"));
    }

    /// <summary>
    /// The template's events moved to second <paramref name="second"/> of the run, 2 ms apart: a recorder's time goes
    /// on, so the rules' windows move and forget as they do on a real host (replayed frozen times never pruned).
    /// </summary>
    internal static List<TelemetryEvent> AtSecond(List<TelemetryEvent> template, DateTimeOffset start, int second)
    {
        for (var i = 0; i < template.Count; i++)
            template[i].Time = start.AddSeconds(second).AddMilliseconds(i * 2);
        return template;
    }

    public static async Task ListAsync(StorageProvider provider, IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var count = settings.GetValueOrDefault("incidents", 100_000);
        await using var api = new BenchApi(provider, settings: new Dictionary<string, string> { ["Platform:Detection:Enabled"] = "false" });
        var admin = api.Client(api.AdminSecret);
        var agentIds = Enumerable.Range(0, 200).Select(_ => Ids.New("agt")).ToArray();
        await FillAsync(api.Services.GetRequiredService<Database>(), agentIds, count);

        var queries = new Func<int, Task>[]
        {
            i => admin.ListIncidentsAsync(limit: 50, status: [IncidentStatus.Open], category: [Enum.GetValues<IncidentCategory>()[i % 7]]),
            i => admin.ListIncidentsAsync(limit: 50, agentId: agentIds[i % agentIds.Length], status: [IncidentStatus.Open, IncidentStatus.Acknowledged]),
            i => admin.ListIncidentsAsync(limit: 50, severity: [IncidentSeverity.Critical], since: DateTimeOffset.UtcNow.AddDays(-3)),
            i => admin.ListIncidentsAsync(limit: 100, updatedAfter: DateTimeOffset.UtcNow.AddHours(-(i % 48))),
        };
        var samples = new List<double>();
        for (var i = 0; i < 4000; i++)
        {
            var watch = Stopwatch.StartNew();
            await queries[i % queries.Length](i);
            if (i >= 400) // the first tenth warms up
                samples.Add(watch.Elapsed.TotalMilliseconds);
        }

        results.Add(($"Incident list with filters (status+category, agent+statuses, severity+since, updatedAfter), {count:N0} incidents, {(provider == StorageProvider.Sqlite ? "SQLite" : "PostgreSQL")}, through HTTP",
            Benchmarks.Percentiles(samples), "< 10 ms median"));
    }

    /// <summary>Incidents as detection makes them, spread over agents, categories, statuses and the last week.</summary>
    internal static async Task FillAsync(Database database, string[] agentIds, int count)
    {
        string[] categories = ["data-exfiltration", "shell-from-server", "fim-tamper", "download-execute", "port-scan", "reverse-shell", "crypto-mining"];
        string[] severities = ["low", "medium", "high", "critical"];
        string[] statuses = ["open", "open", "acknowledged", "resolved", "archived"];
        var random = new Random(2026);
        var now = DateTimeOffset.UtcNow;
        foreach (var chunk in Enumerable.Range(1, count).Chunk(5000))
        {
            await using var write = await database.BeginWriteAsync(CancellationToken.None);
            await write.ExecuteAsync(
                """
                insert into incident (incident_id, change_seq, category, severity, status, resolution, resolution_reason, assignee, agent_id, hostname, container_id,
                    container_name, image, summary, techniques, finding_count, first_seen, last_seen, created_at, updated_at, version, pin_id)
                values (@IncidentId, @ChangeSeq, @Category, @Severity, @Status, null, null, null, @AgentId, @Hostname, @ContainerId,
                    null, null, @Summary, 'T1059.004', 1, @Seen, @Seen, @Seen, @Updated, 1, null)
                """,
                chunk.Select(n =>
                {
                    var seen = now.AddMinutes(-random.Next(7 * 24 * 60));
                    var agent = random.Next(agentIds.Length);
                    return new
                    {
                        IncidentId = Ids.New("inc"), ChangeSeq = (long)n, Category = categories[random.Next(categories.Length)], Severity = severities[random.Next(4)],
                        Status = statuses[random.Next(statuses.Length)], AgentId = agentIds[agent], Hostname = $"node-{agent}", ContainerId = random.Next(3) == 0 ? "" : $"c{random.Next(5000):x8}",
                        Summary = $"bench incident {n}", Seen = seen, Updated = now.AddMinutes(-(count - n) * 7.0 * 24 * 60 / count),
                    };
                }), CancellationToken.None);
            await write.CommitAsync(CancellationToken.None);
        }

        await using var statistics = await database.BeginWriteAsync(CancellationToken.None);
        await statistics.ExecuteAsync("analyze incident", null, CancellationToken.None);
        await statistics.CommitAsync(CancellationToken.None);
    }
}

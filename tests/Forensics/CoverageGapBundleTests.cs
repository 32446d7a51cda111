using System.Net;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.CoverageGapTests;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Forensics;

/// <summary>A bundle's manifest lists the losses the agent reported in its window (issue 20: loss is never silent).</summary>
public abstract class CoverageGapBundleTests(PlatformApi api)
{
    private async Task<(string? ETag, JsonElement Manifest)> Manifest(string url)
    {
        using var response = await api.Http(api.AdminSecret).GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var zip = await response.Content.ReadAsByteArrayAsync();
        return (response.Headers.ETag?.Tag, JsonDocument.Parse(BundleSignatureTests.Unzip(zip)["manifest.json"]).RootElement.Clone());
    }

    private static List<JsonElement> Gaps(JsonElement manifest) => manifest.GetProperty("coverageGaps").EnumerateArray().ToList();

    [SkippableFact]
    public async Task An_incident_bundle_lists_the_reported_gap_in_its_window_and_not_one_outside()
    {
        var scenario = await IncidentScenario.StartAsync(api, "gap-bundle-" + Guid.NewGuid().ToString("N")[..8]);
        var at = api.Time.GetUtcNow().AddMinutes(-5);
        await scenario.PushAsync(scenario.Struts2Compromise(at));
        // The sensor overflowed while the attack ran (batch 2), and hours before it.
        await scenario.PushAsync(Gap("during", at.AddMilliseconds(200), at.AddMilliseconds(250), lost: 1234), Gap("long-before", at.AddHours(-3), at.AddHours(-3).AddSeconds(1), lost: 5));
        var incident = (await scenario.IncidentsAsync()).First();

        var (_, manifest) = await Manifest($"/api/v1/incidents/{incident.Id}/bundle");

        var gap = Assert.Single(Gaps(manifest));
        Assert.Equal(("sensor-overflow", 2L, 2L, 1234L), (gap.GetProperty("reason").GetString(), gap.GetProperty("fromSequence").GetInt64(), gap.GetProperty("toSequence").GetInt64(), gap.GetProperty("lostEvents").GetInt64()));
        Assert.Equal((Micros(at.AddMilliseconds(200)), Micros(at.AddMilliseconds(250))), (Micros(gap.GetProperty("from").GetDateTimeOffset()), Micros(gap.GetProperty("until").GetDateTimeOffset())));
    }

    /// <summary>PostgreSQL keeps microseconds.</summary>
    private static DateTimeOffset Micros(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % 10, TimeSpan.Zero);

    [SkippableFact]
    public async Task A_container_bundle_lists_the_hosts_and_its_own_gaps_in_its_window_and_a_new_one_makes_a_new_bundle()
    {
        var (agent, enrolled) = await api.EnrolledAgent("gap-bundle-c");
        var id = enrolled.Agent.Id;
        var other = new ContainerRef { Id = "other-container" };
        await agent.PushTelemetryAsync(Batch(1,
            ShellFromJava("s", T0.AddSeconds(1), Web),
            Gap("host", T0.AddSeconds(2), T0.AddSeconds(3), CoverageGapReason.AgentDown),
            Gap("mine", T0.AddSeconds(4), T0.AddSeconds(5), CoverageGapReason.CollectorOverflow, lost: 9, container: Web),
            Gap("theirs", T0.AddSeconds(4), T0.AddSeconds(5), lost: 8, container: other),
            Gap("later", T0.AddHours(2), T0.AddHours(2).AddSeconds(1), lost: 7)), id);
        var url = $"/api/v1/agents/{id}/containers/{Web.Id}/forensics/bundle?from=2026-11-22T10:00:00Z&until=2026-11-22T10:01:00Z";

        var (etag, manifest) = await Manifest(url);

        Assert.Equal([("agent-down", null), ("collector-overflow", Web.Id)],
            Gaps(manifest).Select(g => (g.GetProperty("reason").GetString(), g.TryGetProperty("containerId", out var c) ? c.GetString() : null)));
        Assert.False(Gaps(manifest)[0].TryGetProperty("lostEvents", out _));
        Assert.Equal(9, Gaps(manifest)[1].GetProperty("lostEvents").GetInt64());

        // Only the host's segments change (the container's events do not): the reported gap alone makes a new bundle.
        await agent.PushTelemetryAsync(Batch(2, Gap("host-2", T0.AddSeconds(50), T0.AddSeconds(70), lost: 100)), id);
        var (etag2, manifest2) = await Manifest(url);

        Assert.NotEqual(etag, etag2);
        Assert.Equal(["agent-down", "collector-overflow", "sensor-overflow"], Gaps(manifest2).Select(g => g.GetProperty("reason").GetString()));
        Assert.Equal(2L, Gaps(manifest2)[2].GetProperty("fromSequence").GetInt64());
    }
}

public sealed class CoverageGapBundleTestsOnSqlite(SqliteApi api) : CoverageGapBundleTests(api), IClassFixture<SqliteApi>;

public sealed class CoverageGapBundleTestsOnPostgres(PostgresApi api) : CoverageGapBundleTests(api), IClassFixture<PostgresApi>;

using System.Net;
using System.Text;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Observability;

/// <summary>Ingest as <see cref="Platform.Api.Observability.ApiMetrics"/> counts it: events by kind and store, refusals by status.</summary>
public abstract class IngestMetricsTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Stored_events_are_counted_by_kind_and_store_and_a_replay_is_not()
    {
        var (agent, enrolled) = await api.EnrolledAgent("metrics-01");
        using var measured = new ApiMeasurements(api.Services);

        await agent.PushTelemetryAsync(Batch(1, Reads("m1", T0, 7)), enrolled.Agent.Id);
        await agent.PushTelemetryAsync(Batch(2, Reads("m2", T0.AddSeconds(1), 5)), enrolled.Agent.Id);
        var replay = await agent.PushTelemetryAsync(Batch(2, Reads("m2", T0.AddSeconds(1), 5)), enrolled.Agent.Id);

        Assert.True(replay.Duplicate);
        Assert.Equal(12, measured.Sum("platform.events.ingested", ("kind", "flight_data"), ("store", api.ProviderName)));
        Assert.Equal(0, measured.Sum("platform.events.ingested", ("kind", "fim_alert")));
        Assert.Equal(0, measured.Count("platform.batches.refused"));
    }

    [SkippableFact]
    public async Task Refused_batches_are_counted_by_status()
    {
        var (agent, enrolled) = await api.EnrolledAgent("metrics-02");
        var (_, other) = await api.EnrolledAgent("metrics-03");
        using var measured = new ApiMeasurements(api.Services);

        // Another agent's flight data (403), and a batch without events (400): neither is taken.
        var forbidden = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => agent.PushTelemetryAsync(Batch(1, Reads("x", T0, 1)), other.Agent.Id));
        Assert.Equal(403, forbidden.StatusCode);
        using var http = api.Http(enrolled.Secret);
        using var empty = await http.PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/telemetry", new StringContent("""{"id":"b-1","sequence":1}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);

        Assert.Equal(1, measured.Sum("platform.batches.refused", ("kind", "flight_data"), ("status", 403)));
        Assert.Equal(1, measured.Sum("platform.batches.refused", ("kind", "flight_data"), ("status", 400)));
        Assert.Equal(0, measured.Sum("platform.events.ingested"));

        // Other operations' 4xx answers are not refused batches.
        await Assert.ThrowsAnyAsync<PlatformApiException>(() => agent.GetAgentAsync(other.Agent.Id));
        Assert.Equal(2, measured.Sum("platform.batches.refused"));
    }
}

public sealed class IngestMetricsTestsOnSqlite(SqliteApi api) : IngestMetricsTests(api), IClassFixture<SqliteApi>;

public sealed class IngestMetricsTestsOnPostgres(PostgresApi api) : IngestMetricsTests(api), IClassFixture<PostgresApi>;

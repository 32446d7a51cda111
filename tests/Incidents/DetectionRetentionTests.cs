using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Api.Incidents;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>
/// Retention and detection: the data of a batch detection has yet to take is kept past the age and byte caps
/// (nothing stored escapes detection), unless detection is off (then nothing would ever take it).
/// </summary>
public abstract class DetectionRetentionTests(PlatformApi api)
{
    private TelemetryOptions Options => api.Services.GetRequiredService<TelemetryOptions>();

    /// <summary>Another API instance holds the agent's detection (and has not taken its batches yet): this instance's detector skips the agent.</summary>
    private async Task HeldElsewhere(string agentId, bool held)
    {
        await using var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None);
        await write.Db.ExecuteAsync(
            held ? "insert into detection_lease (agent_id, owner, expires_at) values (@agentId, 'det_another_instance', @expires)" : "delete from detection_lease where agent_id = @agentId",
            new { agentId, expires = DateTimeOffset.UtcNow.AddHours(1) }, write.Transaction);
        await write.CommitAsync(CancellationToken.None);
    }

    /// <summary>Whether <typeparamref name="T"/> logged a warning naming the agent (and the batch, if given).</summary>
    private bool Warned<T>(string agentId, long? sequence = null) => api.Log.Entries.Any(e =>
        e.Category == typeof(T).FullName && e.Level == LogLevel.Warning && e.State.Any(p => p.Key == "AgentId" && Equals(p.Value, agentId))
        && (sequence is null || e.State.Any(p => p.Key == "Sequence" && Equals(p.Value, sequence))));

    /// <summary>An old batch (an agent resending after a long outage) that detection has not taken yet.</summary>
    private async Task<IncidentScenario> QueuedOldCompromise()
    {
        var s = await StartAsync(api);
        await HeldElsewhere(s.AgentId, held: true);
        Assert.True(api.Time.GetUtcNow() - T0 > Options.MaxAge); // older than the age cap when it arrives
        await s.PushAsync(s.Struts2Compromise(T0)); // detection here runs, and cannot take the agent
        Assert.Empty(await s.IncidentsAsync());
        return s;
    }

    [SkippableFact]
    public async Task Data_waiting_for_detection_outlives_the_age_and_byte_caps_and_is_detected()
    {
        var s = await QueuedOldCompromise();
        var (hostMax, containerMax) = (Options.HostMaxBytes, Options.ContainerMaxBytes);
        Options.HostMaxBytes = Options.ContainerMaxBytes = 1;
        RetentionResult swept;
        try
        {
            swept = await api.RetentionPassAsync();
        }
        finally
        {
            (Options.HostMaxBytes, Options.ContainerMaxBytes) = (hostMax, containerMax);
        }

        // Over its cap, but all of it waits for detection: kept, and said so.
        Assert.True(swept.HeldForDetection >= 1);
        Assert.True(await api.StoredSegmentsAsync(s.AgentId) > 0);
        Assert.True(Warned<TelemetryRetention>(s.AgentId));

        await HeldElsewhere(s.AgentId, held: false);
        await DetectAsync(api);

        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        Assert.Equal(DetectionRule.SensitiveReadThenEgress, Assert.Single(await s.FindingsAsync(incident)).Rule);
    }

    [SkippableFact]
    public async Task With_detection_off_retention_does_not_wait_for_the_queue()
    {
        var s = await QueuedOldCompromise();
        var detection = api.Services.GetRequiredService<DetectionOptions>();
        detection.Enabled = false; // switched off (by configuration) with batches still queued
        try
        {
            await api.RetentionPassAsync();
        }
        finally
        {
            detection.Enabled = true;
        }

        Assert.Equal(0, await api.StoredSegmentsAsync(s.AgentId));

        // Switched on again: the batch whose data is gone leaves the queue (with a warning), finding nothing.
        await HeldElsewhere(s.AgentId, held: false);
        await DetectAsync(api);
        Assert.Empty(await s.IncidentsAsync());
        Assert.True(Warned<IncidentDetector>(s.AgentId, sequence: 1));
        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("select count(*) from detection_queue where agent_id = @agentId", new { agentId = s.AgentId }));
    }
}

public sealed class DetectionRetentionTestsOnSqlite(SqliteApi api) : DetectionRetentionTests(api), IClassFixture<SqliteApi>;

public sealed class DetectionRetentionTestsOnPostgres(PostgresApi api) : DetectionRetentionTests(api), IClassFixture<PostgresApi>;

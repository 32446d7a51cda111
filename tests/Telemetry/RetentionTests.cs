using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Incidents;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Telemetry;

/// <summary>The rolling caps, with the background pass out of the way (each test runs a pass itself).</summary>
public abstract class RetentionTests(PlatformApi api)
{
    private TelemetryOptions Options => api.Services.GetRequiredService<TelemetryOptions>();

    /// <summary>A retention pass after detection took what was pushed (retention keeps what waits for detection).</summary>
    private async Task<RetentionResult> Sweep()
    {
        await api.Services.GetRequiredService<IncidentDetector>().DrainAsync(CancellationToken.None);
        return await api.RetentionPassAsync();
    }

    private TelemetryPins Pins => api.Services.GetRequiredService<TelemetryPins>();

    /// <summary>A pin's change in a write of its own, as an incident's write would make it.</summary>
    private async Task<T> Written<T>(Func<Database.Write, Task<T>> change)
    {
        await using var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None);
        var result = await change(write);
        await write.CommitAsync(CancellationToken.None);
        return result;
    }

    /// <summary>Ten batches a minute apart, each one host segment and one container segment of 50 events.</summary>
    private async Task<(string AgentId, DateTimeOffset Start)> Recorded(string hostname)
    {
        Options.HostMaxBytes = Options.ContainerMaxBytes = long.MaxValue;
        Options.MaxAge = TimeSpan.FromDays(7);
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        var start = api.Time.GetUtcNow().AddHours(-1);
        for (var b = 0; b < 10; b++)
            await agent.PushTelemetryAsync(Batch(b + 1, Reads($"b{b}", start.AddMinutes(b), 100)), enrolled.Agent.Id);
        return (enrolled.Agent.Id, start);
    }

    private async Task<List<long>> SegmentBytes(string agentId, string containerId)
    {
        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        return (await db.QueryAsync<long>("select stored_bytes from telemetry_segment where agent_id = @agentId and container_id = @containerId order by last_time",
            new { agentId, containerId })).AsList();
    }

    /// <summary>Which of the ten batches still have events in the resource.</summary>
    private async Task<List<int>> BatchesLeft(string agentId, string? containerId = null)
    {
        var events = new List<TelemetryEvent>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListTelemetryEventsAsync(limit: 200, cursor: cursor, agentId: agentId, containerId: containerId);
            events.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return events.Where(e => containerId is not null || e.Container is null).Select(e => int.Parse(e.Id[1..e.Id.IndexOf('-')], System.Globalization.CultureInfo.InvariantCulture)).Distinct().Order().ToList();
    }

    [SkippableFact]
    public async Task A_host_over_its_byte_cap_loses_its_oldest_data_first()
    {
        var (id, _) = await Recorded("cap-01");
        var sizes = await SegmentBytes(id, "");
        // Room for the last four host segments.
        Options.HostMaxBytes = sizes.TakeLast(4).Sum();

        var result = await Sweep();

        Assert.Equal(6, result.OverCap);
        Assert.Equal([6, 7, 8, 9], await BatchesLeft(id));
        Assert.Equal(Enumerable.Range(0, 10), await BatchesLeft(id, Web.Id)); // the container has a cap of its own
    }

    [SkippableFact]
    public async Task A_container_over_its_cap_loses_only_its_own_data()
    {
        var (id, _) = await Recorded("cap-02");
        Options.ContainerMaxBytes = (await SegmentBytes(id, Web.Id)).TakeLast(2).Sum();

        await Sweep();

        Assert.Equal([8, 9], await BatchesLeft(id, Web.Id));
        Assert.Equal(Enumerable.Range(0, 10), await BatchesLeft(id));
    }

    [SkippableFact]
    public async Task Pinned_data_survives_the_caps_until_its_incident_is_archived_and_the_retention_period_passes()
    {
        var (id, start) = await Recorded("cap-03");
        var sizes = await SegmentBytes(id, "");
        // An incident around batch 2's events: with the default margins (an hour before, 15 minutes after)
        // that pins batches 0 to 9; narrow the margins to pin batches 2 and 3 only.
        Options.PinBefore = TimeSpan.Zero;
        Options.PinAfter = TimeSpan.FromSeconds(30);
        var pin = Ids.New("pin");
        await Written(async write =>
        {
            await Pins.PinAsync(write, pin, id, null, start.AddMinutes(2), start.AddMinutes(2).AddMilliseconds(99), "incident inc_1", CancellationToken.None);
            return pin;
        });
        Options.HostMaxBytes = sizes.TakeLast(2).Sum();

        await Sweep();
        Assert.Equal([2, 8, 9], await BatchesLeft(id));
        Assert.Equal(Enumerable.Range(0, 10), await BatchesLeft(id, Web.Id));

        // Everything ages out but the pinned batch, in the container too: a host's pin covers its containers.
        api.Time.Advance(TimeSpan.FromDays(8));
        await Sweep();
        Assert.Equal([2], await BatchesLeft(id));
        Assert.Equal([2], await BatchesLeft(id, Web.Id));

        // Archived: kept for the retention period after that, then gone with its pin.
        Assert.True(await Written(write => Pins.ReleaseAsync(write, pin, api.Time.GetUtcNow(), CancellationToken.None)));
        api.Time.Advance(Options.PinnedAfterArchive - TimeSpan.FromMinutes(1));
        await Sweep();
        Assert.Equal([2], await BatchesLeft(id));
        api.Time.Advance(TimeSpan.FromMinutes(2));
        var last = await Sweep();
        Assert.Equal(1, last.PinsExpired);
        Assert.Empty(await BatchesLeft(id));
    }

    [SkippableFact]
    public async Task Ingest_goes_on_while_the_caps_are_enforced()
    {
        var (id, start) = await Recorded("cap-04");
        Options.HostMaxBytes = 1;
        Options.ContainerMaxBytes = 1;

        var sweep = Sweep();
        var (pusher, enrolled) = await api.EnrolledAgent("cap-04b");
        var pushes = Enumerable.Range(0, 5).Select(b => pusher.PushTelemetryAsync(Batch(b + 1, Reads($"p{b}", start, 10)), enrolled.Agent.Id));
        var results = await Task.WhenAll(pushes);
        await sweep;

        Assert.All(results, r => Assert.False(r.Duplicate));
        Assert.Empty(await BatchesLeft(id));
        Assert.Empty(await BatchesLeft(id, Web.Id));
    }
}

/// <summary>
/// The background pass comes on the api's clock, the one that judges age: an hour apart here, so the machine's clock
/// brings none while the test runs, and moving the api's clock brings one.
/// </summary>
public sealed class RetentionPacingTests(HourlyRetentionSqliteApi api) : IClassFixture<HourlyRetentionSqliteApi>
{
    [Fact]
    public async Task The_background_pass_comes_when_the_apis_clock_reaches_its_interval()
    {
        var options = api.Services.GetRequiredService<TelemetryOptions>();
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("paced-retention"));
        await agent.PushTelemetryAsync(Batch(1, Reads("old", api.Time.GetUtcNow().AddMinutes(-1), 10)), enrolled.Agent.Id);
        await api.Services.GetRequiredService<IncidentDetector>().DrainAsync(CancellationToken.None); // retention keeps what waits for detection
        Assert.True(await api.StoredSegmentsAsync(enrolled.Agent.Id) > 0);

        api.Time.Advance(options.MaxAge + TimeSpan.FromHours(1));

        await Agent.AgentTestSupport.UntilAsync(async () => await api.StoredSegmentsAsync(enrolled.Agent.Id) == 0, "the background pass when the api's clock reached the hour");
    }
}

public class HourlyRetentionSqliteApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Telemetry:RetentionInterval"] = "01:00:00" };
}

public class RetentionSqliteApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Telemetry:RetentionInterval"] = "00:00:00" };
}

public class RetentionPostgresApi : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Telemetry:RetentionInterval"] = "00:00:00" };
}

public sealed class RetentionTestsOnSqlite(RetentionSqliteApi api) : RetentionTests(api), IClassFixture<RetentionSqliteApi>;

public sealed class RetentionTestsOnPostgres(RetentionPostgresApi api) : RetentionTests(api), IClassFixture<RetentionPostgresApi>;

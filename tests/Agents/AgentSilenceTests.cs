using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Agents;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Agents;

/// <summary>sensor-silent incidents: an agent that stops sending heartbeats, or says its protection or sensor stopped.</summary>
public abstract class AgentSilenceTests(PlatformApi api)
{
    /// <summary>The default of Platform:Agents:SilentAfter.</summary>
    private static readonly TimeSpan SilentAfter = TimeSpan.FromMinutes(3);

    private Task<int> Scan() => api.Services.GetRequiredService<AgentSilence>().ScanAsync(CancellationToken.None);

    private static AgentStatus Status(bool prevention = true, AgentSensorMode sensor = AgentSensorMode.Ebpf, string? reason = null) => new()
    {
        Sensor = new AgentSensorStatus { Mode = sensor, Reason = sensor == AgentSensorMode.Ebpf ? null : reason, LostEvents = 0 },
        Fim = new AgentFimStatus { Rules = 1, WatchedDirectories = 1, Overflows = 0, Unwatchable = 0 },
        Spool = new AgentSpoolStatus { TelemetryRecords = 0, AlertRecords = 0, Bytes = 0, DroppedTelemetry = 0, QuarantinedRegions = 0, RejectedBatches = 0 },
        Capabilities = new AgentCapabilities
        {
            ProcessAttribution = new AgentCapability { Available = true },
            Prevention = new AgentCapability { Available = prevention, Reason = prevention ? null : reason },
            ProcessEvents = AgentProcessEvents.Ebpf,
        },
    };

    private async Task<IReadOnlyList<Incident>> SilentIncidents(string agentId) =>
        (await api.Admin().ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.SensorSilent])).Items.ToList();

    private async Task<(PlatformClient Agent, AgentEnrolled Enrolled)> Heartbeating(string name)
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique(name));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status() }, enrolled.Agent.Id);
        return (agent, enrolled);
    }

    [SkippableFact]
    public async Task Missing_heartbeats_for_the_configured_time_raise_one_incident_that_the_next_heartbeat_resolves()
    {
        var (agent, enrolled) = await Heartbeating("silent");
        var lastHeartbeat = api.Time.GetUtcNow();

        api.Time.Advance(SilentAfter - TimeSpan.FromSeconds(1));
        await Scan();
        Assert.Empty(await SilentIncidents(enrolled.Agent.Id));

        api.Time.Advance(TimeSpan.FromSeconds(2));
        await Scan();
        await Scan(); // looking again raises nothing more
        var incident = Assert.Single(await SilentIncidents(enrolled.Agent.Id));
        Assert.Equal(IncidentStatus.Open, incident.Status);
        Assert.Equal(IncidentSeverity.High, incident.Severity);
        Assert.True((incident.FirstSeen - lastHeartbeat).Duration() < TimeSpan.FromMilliseconds(1)); // PostgreSQL keeps microseconds
        Assert.Null(incident.Resource.ContainerId);
        Assert.Contains("No heartbeat", incident.Summary, StringComparison.Ordinal);
        Assert.Equal(["T1562.001"], incident.Techniques);
        Assert.Equal(DetectionRule.AgentHeartbeatsMissed, Assert.Single((await api.Admin().ListIncidentFindingsAsync(incident.Id)).Items).Rule);

        api.Time.Advance(TimeSpan.FromMinutes(7));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status() }, enrolled.Agent.Id); // the agent restarted

        var resolved = await api.Admin().GetIncidentAsync(incident.Id);
        Assert.Equal(IncidentStatus.Resolved, resolved.Status);
        Assert.Equal(IncidentResolution.TruePositive, resolved.Resolution);
        var entry = Assert.Single(resolved.History);
        Assert.Null(entry.Actor); // the platform
        Assert.Contains("heartbeats came back", entry.Reason, StringComparison.Ordinal);
        Assert.Single((await api.Admin().ListAuditEntriesAsync(action: "incident.resolve", targetId: incident.Id)).Items, e => e.ActorRole == "system");

        // Silent again: a new incident, not the resolved one reopened.
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));
        await Scan();
        var incidents = await SilentIncidents(enrolled.Agent.Id);
        Assert.Equal(2, incidents.Count);
        Assert.Single(incidents, i => i.Status == IncidentStatus.Open && i.Id != incident.Id);
    }

    [SkippableFact]
    public async Task An_agent_that_never_sent_a_heartbeat_or_keeps_sending_them_raises_nothing()
    {
        var (_, never) = await api.EnrolledAgent(FimRules.Unique("never"));
        var (agent, alive) = await Heartbeating("alive");
        for (var i = 0; i < 10; i++)
        {
            api.Time.Advance(TimeSpan.FromSeconds(30));
            await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), alive.Agent.Id); // alive, nothing new to say
            await Scan();
        }

        Assert.Empty(await SilentIncidents(never.Agent.Id));
        Assert.Empty(await SilentIncidents(alive.Agent.Id));
    }

    [SkippableFact]
    public async Task Scans_at_once_on_every_instance_raise_one_incident_an_agent()
    {
        var agents = new List<AgentEnrolled>();
        for (var i = 0; i < 3; i++)
            agents.Add((await Heartbeating("race")).Enrolled);
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(Scan)));

        foreach (var enrolled in agents)
            Assert.Single(await SilentIncidents(enrolled.Agent.Id));
    }

    [SkippableFact]
    public async Task A_heartbeat_saying_prevention_or_the_sensor_stopped_raises_an_incident_until_one_says_they_are_back()
    {
        var (agent, enrolled) = await Heartbeating("stopped");

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(prevention: false, reason: "FS_IOC_SETFLAGS: Operation not permitted") }, enrolled.Agent.Id);
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(prevention: false, reason: "FS_IOC_SETFLAGS: Operation not permitted") }, enrolled.Agent.Id);
        var incident = Assert.Single(await SilentIncidents(enrolled.Agent.Id));
        Assert.Contains("prevention is not available (FS_IOC_SETFLAGS: Operation not permitted)", incident.Summary, StringComparison.Ordinal);
        Assert.Equal(DetectionRule.AgentProtectionStopped, Assert.Single((await api.Admin().ListIncidentFindingsAsync(incident.Id)).Items).Rule);

        // The sensor goes too while it is open: the same incident, which now waits for both.
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(prevention: false, sensor: AgentSensorMode.Fallback, reason: "bpf: EPERM") }, enrolled.Agent.Id);
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(prevention: true, sensor: AgentSensorMode.Fallback, reason: "bpf: EPERM") }, enrolled.Agent.Id);
        Assert.Equal(IncidentStatus.Open, Assert.Single(await SilentIncidents(enrolled.Agent.Id)).Status);

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status() }, enrolled.Agent.Id);
        var resolved = await api.Admin().GetIncidentAsync(incident.Id);
        Assert.Equal(IncidentStatus.Resolved, resolved.Status);
        Assert.Contains("back", resolved.ResolutionReason, StringComparison.Ordinal);

        // A sensor that stops later is another incident.
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(sensor: AgentSensorMode.None, reason: "disabled by Platform:Agent:Sensor:Mode") }, enrolled.Agent.Id);
        var second = Assert.Single(await SilentIncidents(enrolled.Agent.Id), i => i.Status == IncidentStatus.Open);
        Assert.Contains("kernel sensor is now 'none'", second.Summary, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task An_agent_that_comes_back_without_its_protection_resolves_the_silence_and_raises_the_stop()
    {
        var (agent, enrolled) = await Heartbeating("back-degraded");
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));
        await Scan();
        var silence = Assert.Single(await SilentIncidents(enrolled.Agent.Id));

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status(sensor: AgentSensorMode.Fallback, reason: "bpf: EPERM") }, enrolled.Agent.Id);

        var incidents = await SilentIncidents(enrolled.Agent.Id);
        Assert.Equal(2, incidents.Count);
        Assert.Equal(IncidentStatus.Resolved, incidents.Single(i => i.Id == silence.Id).Status);
        Assert.Equal(IncidentStatus.Open, incidents.Single(i => i.Id != silence.Id).Status);
    }

    [SkippableFact]
    public async Task A_person_who_resolved_the_incident_first_keeps_the_resolution()
    {
        var (agent, enrolled) = await Heartbeating("by-hand");
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));
        await Scan();
        var incident = Assert.Single(await SilentIncidents(enrolled.Agent.Id));
        await api.Admin().ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = IncidentResolution.Benign, Reason = "planned maintenance" }, incident.Id);

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status() }, enrolled.Agent.Id);

        var read = await api.Admin().GetIncidentAsync(incident.Id);
        Assert.Equal(IncidentResolution.Benign, read.Resolution);
        Assert.Single(read.History);
        // And the next silence raises a new one.
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));
        await Scan();
        Assert.Equal(2, (await SilentIncidents(enrolled.Agent.Id)).Count);
    }

    [SkippableFact]
    public async Task Another_agent_cannot_end_a_silence_with_its_heartbeat()
    {
        var (_, silent) = await Heartbeating("victim");
        var (intruder, _) = await Heartbeating("intruder");
        api.Time.Advance(SilentAfter + TimeSpan.FromSeconds(1));
        await Scan();

        await ProblemAssert.Refused(403, () => intruder.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = Status() }, silent.Agent.Id));

        Assert.Equal(IncidentStatus.Open, Assert.Single(await SilentIncidents(silent.Agent.Id)).Status);
    }
}

public sealed class AgentSilenceTestsOnSqlite(SqliteApi api) : AgentSilenceTests(api), IClassFixture<SqliteApi>;

public sealed class AgentSilenceTestsOnPostgres(PostgresApi api) : AgentSilenceTests(api), IClassFixture<PostgresApi>;

/// <summary>Platform:Agents:SilentAfter set (10 minutes): the incident waits for it; a setting out of bounds stops the API at start, naming it.</summary>
public abstract class AgentSilenceSettingTests(PlatformApi api)
{
    [SkippableFact]
    public async Task The_configured_time_decides_when_an_agent_is_silent()
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("slow"));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id);
        var silence = api.Services.GetRequiredService<AgentSilence>();

        api.Time.Advance(TimeSpan.FromMinutes(9));
        await silence.ScanAsync(CancellationToken.None);
        Assert.Empty((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.SensorSilent])).Items);

        api.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await silence.ScanAsync(CancellationToken.None);
        var incident = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.SensorSilent])).Items);
        Assert.Contains("10 min without one", incident.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_silence_time_out_of_bounds_stops_the_api_at_start_naming_the_setting()
    {
        using var bad = new SilentAfterOneSecondApi();
        var error = Assert.ThrowsAny<Exception>(() => bad.Http());
        Assert.Contains("Platform:Agents:SilentAfter", error.ToString(), StringComparison.Ordinal);
    }
}

public class SilentAfterTenMinutesSqliteApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Agents:SilentAfter"] = "00:10:00" };
}

public class SilentAfterTenMinutesPostgresApi : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Agents:SilentAfter"] = "00:10:00" };
}

public class SilentAfterOneSecondApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Agents:SilentAfter"] = "00:00:01" };
}

public sealed class AgentSilenceSettingTestsOnSqlite(SilentAfterTenMinutesSqliteApi api) : AgentSilenceSettingTests(api), IClassFixture<SilentAfterTenMinutesSqliteApi>;

public sealed class AgentSilenceSettingTestsOnPostgres(SilentAfterTenMinutesPostgresApi api) : AgentSilenceSettingTests(api), IClassFixture<SilentAfterTenMinutesPostgresApi>;

/// <summary>
/// The monitor's own passes (no test calling ScanAsync) come on the api's clock, the one that judges silence: an hour
/// apart here (the longest interval), so the machine's clock brings none while the test runs.
/// </summary>
public sealed class AgentSilenceMonitorTests(HourlySilenceScanSqliteApi api) : IClassFixture<HourlySilenceScanSqliteApi>
{
    [Fact]
    public async Task The_monitor_looks_when_the_apis_clock_reaches_its_interval()
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("paced"));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id);

        api.Time.Advance(TimeSpan.FromHours(1));

        await AgentTestSupport.UntilAsync(
            async () => (await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.SensorSilent])).Items.Count == 1,
            "the monitor's pass when the api's clock reached the hour");
    }
}

public class HourlySilenceScanSqliteApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Agents:SilenceScanInterval"] = "01:00:00" };
}

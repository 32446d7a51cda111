using Platform.Api.Incidents;

namespace Platform.Api.Agents;

/// <summary>
/// <c>sensor-silent</c> incidents: the API's own finding that an agent stopped watching. One when an agent that
/// sent heartbeats sends none for <see cref="AgentsOptions.SilentAfter"/> (<c>agent-heartbeats-missed</c>,
/// raised by <see cref="ScanAsync"/>), one when a heartbeat says its prevention stopped or its kernel sensor is
/// gone (<c>agent-protection-stopped</c>). The agent's next heartbeat resolves the first; a heartbeat saying
/// everything is back resolves the second. The agent row remembers the open incident of each kind, so each
/// silence or stop raises one incident, whichever API instance sees it first. A decommissioned agent is silent on
/// purpose: it raises none.
/// </summary>
public sealed class AgentSilence(Database database, IncidentWorkflow incidents, AgentsOptions options, TimeProvider time)
{
    private const string Prevention = "prevention";
    private const string Sensor = "sensor";

    private sealed class SilentAgent
    {
        public required string AgentId { get; init; }
        public required string Hostname { get; init; }
        public required DateTimeOffset HeartbeatAt { get; init; }
    }

    private sealed class Watch
    {
        public required string Hostname { get; init; }
        public string? StatusJson { get; init; }
        public DateTimeOffset? HeartbeatAt { get; init; }
        public string? SilentIncidentId { get; init; }
        public string? StoppedIncidentId { get; init; }
        public string? StoppedWhat { get; init; }
    }

    /// <summary>Raises an incident for each agent silent too long that has none yet, the longest silent first, at most a batch. Returns how many.</summary>
    public async Task<int> ScanAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - options.SilentAfter;
        List<SilentAgent> silent;
        await using (var db = await database.OpenAsync(cancellationToken))
        {
            silent = (await db.QueryAsync<SilentAgent>(new CommandDefinition(
                "select agent_id, hostname, heartbeat_at from agent where silent_incident_id is null and decommissioned_at is null and heartbeat_at < @cutoff order by heartbeat_at, agent_id limit @take",
                new { cutoff, take = options.SilenceScanBatch }, cancellationToken: cancellationToken))).AsList();
        }

        if (silent.Count == 0)
            return 0;
        var raised = 0;
        await using var changes = await incidents.BeginChangesAsync(cancellationToken, background: true);
        foreach (var agent in silent)
        {
            var finding = new Finding(
                $"silent|{Stamp(agent.HeartbeatAt)}", DetectionRule.AgentHeartbeatsMissed, IncidentSeverity.High, agent.HeartbeatAt, "", null, null,
                $"No heartbeat from the agent on {agent.Hostname} since {Stamp(agent.HeartbeatAt)} ({Minutes(options.SilentAfter)} without one): it was stopped or killed, or the host is down. "
                + "Nothing on it is watched or reported; what the kernel keeps (immutable and append-only attributes) still holds.",
                [], [], []);
            // Still silent and still without an incident (a heartbeat, or another instance, may have come first).
            var claimed = await changes.Db.ExecuteAsync(new CommandDefinition(
                "update agent set silent_incident_id = @incidentId where agent_id = @agentId and silent_incident_id is null and decommissioned_at is null and heartbeat_at < @cutoff",
                new { agentId = agent.AgentId, incidentId = IncidentIdOf(finding, agent.AgentId), cutoff }, changes.Transaction, cancellationToken: cancellationToken));
            if (claimed == 0)
                continue;
            await incidents.RecordAsync(changes, agent.AgentId, agent.Hostname, [finding], cancellationToken, alone: true);
            raised++;
        }

        await changes.CommitAsync(cancellationToken);
        return raised;
    }

    /// <summary>
    /// Records a heartbeat (<see cref="AgentStore.RecordHeartbeatAsync"/>)
    /// and what it means for the agent's <c>sensor-silent</c> incidents: resolves its silence, raises or resolves a stop.
    /// Null when there is no such agent.
    /// </summary>
    public async Task<AgentRow?> RecordHeartbeatAsync(string agentId, AgentHeartbeat heartbeat, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Watch? watch;
        await using (var db = await database.OpenAsync(cancellationToken))
            watch = await WatchAsync(db, null, agentId, cancellationToken);
        if (watch is null)
            return null;
        // Most heartbeats change nothing: no incident transaction for them.
        if (watch.SilentIncidentId is null && Lost(watch, heartbeat.Status).Count == 0 && !IsBack(watch, heartbeat.Status))
        {
            await using var write = await database.BeginWriteAsync(cancellationToken);
            var recorded = await AgentStore.RecordHeartbeatAsync(write, agentId, heartbeat.AgentVersion, heartbeat.Os, heartbeat.Status, now, cancellationToken);
            await write.CommitAsync(cancellationToken);
            return recorded;
        }

        await using var changes = await incidents.BeginChangesAsync(cancellationToken);
        watch = await WatchAsync(changes.Db, changes.Transaction, agentId, cancellationToken);
        if (watch is null)
            return null;
        var row = await AgentStore.RecordHeartbeatAsync(changes.Write, agentId, heartbeat.AgentVersion, heartbeat.Os, heartbeat.Status, now, cancellationToken);
        if (watch.SilentIncidentId is { } silentIncident)
        {
            var since = watch.HeartbeatAt is { } last ? $" after {Minutes(now - last)} of silence (last heartbeat {Stamp(last)})" : "";
            await incidents.ResolveByPlatformAsync(changes, silentIncident, IncidentResolution.TruePositive,
                $"The agent's heartbeats came back at {Stamp(now)}{since}: resolved by the platform. The silence was real; reopen to find out why the agent stopped.", cancellationToken);
            await Mark(changes, agentId, "silent_incident_id = null", cancellationToken);
        }

        var what = Split(watch.StoppedWhat);
        if (watch.StoppedIncidentId is { } stoppedIncident && IsBack(watch, heartbeat.Status))
        {
            await incidents.ResolveByPlatformAsync(changes, stoppedIncident, IncidentResolution.TruePositive,
                $"The agent's heartbeat at {Stamp(now)} says its {string.Join(" and ", what)} {(what.Count > 1 ? "are" : "is")} back: resolved by the platform.", cancellationToken);
            await Mark(changes, agentId, "stopped_incident_id = null, stopped_what = null", cancellationToken);
            watch = new Watch { Hostname = watch.Hostname, StatusJson = watch.StatusJson, HeartbeatAt = watch.HeartbeatAt };
            what = [];
        }

        var lost = Lost(watch, heartbeat.Status);
        if (lost.Count > 0)
        {
            if (watch.StoppedIncidentId is null)
            {
                var finding = new Finding(
                    $"stopped|{string.Join(',', lost)}|{Stamp(now)}", DetectionRule.AgentProtectionStopped, IncidentSeverity.High, now, "", null, null,
                    $"The agent on {watch.Hostname} says {Describe(lost, heartbeat.Status!)} (it did before): it is not protecting or watching as it was.", [], [], []);
                await incidents.RecordAsync(changes, agentId, watch.Hostname, [finding], cancellationToken, alone: true);
                await changes.Db.ExecuteAsync(new CommandDefinition(
                    "update agent set stopped_incident_id = @incidentId, stopped_what = @what where agent_id = @agentId",
                    new { agentId, incidentId = IncidentIdOf(finding, agentId), what = string.Join(',', lost) }, changes.Transaction, cancellationToken: cancellationToken));
            }
            else
            {
                await changes.Db.ExecuteAsync(new CommandDefinition(
                    "update agent set stopped_what = @what where agent_id = @agentId",
                    new { agentId, what = string.Join(',', what.Union(lost).Order(StringComparer.Ordinal)) }, changes.Transaction, cancellationToken: cancellationToken));
            }
        }

        await changes.CommitAsync(cancellationToken);
        return row;
    }

    private static Task<Watch?> WatchAsync(System.Data.Common.DbConnection db, System.Data.Common.DbTransaction? transaction, string agentId, CancellationToken cancellationToken) =>
        db.QuerySingleOrDefaultAsync<Watch>(new CommandDefinition(
            "select hostname, status_json, heartbeat_at, silent_incident_id, stopped_incident_id, stopped_what from agent where agent_id = @agentId",
            new { agentId }, transaction, cancellationToken: cancellationToken));

    private static Task Mark(IncidentStore.Changes changes, string agentId, string set, CancellationToken cancellationToken) =>
        changes.Db.ExecuteAsync(new CommandDefinition($"update agent set {set} where agent_id = @agentId", new { agentId }, changes.Transaction, cancellationToken: cancellationToken));

    /// <summary>What the agent had in its last status and this heartbeat says it no longer has: prevention available, the eBPF sensor.</summary>
    private static List<string> Lost(Watch watch, AgentStatus? now)
    {
        var lost = new List<string>();
        if (now is null || Read(watch.StatusJson) is not { } before)
            return lost;
        if (before.Capabilities?.Prevention?.Available == true && now.Capabilities?.Prevention?.Available == false)
            lost.Add(Prevention);
        if (before.Sensor?.Mode == AgentSensorMode.Ebpf && now.Sensor is { } sensor && sensor.Mode != AgentSensorMode.Ebpf)
            lost.Add(Sensor);
        return lost;
    }

    /// <summary>Whether this heartbeat says everything the open stop incident is about is back.</summary>
    private static bool IsBack(Watch watch, AgentStatus? now) =>
        watch.StoppedIncidentId is not null && now is not null && Split(watch.StoppedWhat).All(what => what switch
        {
            Prevention => now.Capabilities?.Prevention?.Available == true,
            Sensor => now.Sensor?.Mode == AgentSensorMode.Ebpf,
            _ => true,
        });

    private static string Describe(List<string> lost, AgentStatus now) => string.Join("; and ", lost.Select(what => what == Prevention
        ? $"prevention is not available{Because(now.Capabilities.Prevention.Reason)}"
        : $"its kernel sensor is now '{Http.SpecEnum.ToSpec(now.Sensor!.Mode)}'{Because(now.Sensor.Reason)}"));

    private static string Because(string? reason) => string.IsNullOrWhiteSpace(reason) ? "" : $" ({reason})";

    private static AgentStatus? Read(string? json) =>
        json is null ? null : System.Text.Json.JsonSerializer.Deserialize<AgentStatus>(json, Telemetry.Segments.Json);

    private static List<string> Split(string? what) => (what ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>The id <see cref="IncidentStore.RecordAsync"/> gives the incident a finding opens.</summary>
    private static string IncidentIdOf(Finding finding, string agentId) => "inc_" + finding.Id(agentId)[4..];

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Minutes(TimeSpan span) =>
        span.TotalMinutes >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} min") : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0} s");
}

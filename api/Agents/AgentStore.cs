using Platform.Api.Enrollment;

namespace Platform.Api.Agents;

public sealed class AgentRow
{
    public required string AgentId { get; init; }
    public required string Hostname { get; init; }
    public required string Os { get; init; }
    public required string AgentVersion { get; init; }
    public required string LabelsJson { get; init; }
    public required DateTimeOffset EnrolledAt { get; init; }
    public string? EnrollmentTokenId { get; init; }
    public DateTimeOffset? LastSeenAt { get; init; }

    /// <summary>When it last sent a heartbeat; null when it never did (LastSeenAt is then its enrollment).</summary>
    public DateTimeOffset? HeartbeatAt { get; init; }
    public required int Version { get; init; }

    /// <summary>The last heartbeat's <see cref="AgentStatus"/>, as JSON.</summary>
    public string? StatusJson { get; init; }

    public DateTimeOffset? StatusReportedAt { get; init; }

    /// <summary>When decommissionAgent retired it (null: active), and the token that did.</summary>
    public DateTimeOffset? DecommissionedAt { get; init; }

    public string? DecommissionedBy { get; init; }

    public Agent ToContract() => new()
    {
        Id = AgentId,
        Hostname = Hostname,
        Os = Os,
        AgentVersion = AgentVersion,
        Labels = Labels.Read(LabelsJson),
        EnrolledAt = EnrolledAt,
        EnrollmentTokenId = EnrollmentTokenId,
        LastSeenAt = LastSeenAt,
        LastHeartbeatAt = HeartbeatAt,
        Version = Version,
        Status = StatusJson is null ? null : System.Text.Json.JsonSerializer.Deserialize<AgentStatus>(StatusJson, Telemetry.Segments.Json),
        StatusReportedAt = StatusReportedAt,
        State = DecommissionedAt is null ? AgentState.Active : AgentState.Decommissioned,
        DecommissionedAt = DecommissionedAt,
        DecommissionedBy = DecommissionedBy,
    };
}

public sealed class AgentStore(Database database)
{
    internal const string Columns = "agent_id, hostname, os, agent_version, labels_json, enrolled_at, enrollment_token_id, last_seen_at, heartbeat_at, version, status_json, status_reported_at, decommissioned_at, decommissioned_by";
    private static readonly string Insert = InsertStatement.For("agent", Columns);

    public static Task InsertAsync(Database.Write write, AgentRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(Insert, row, cancellationToken);

    private const string FindSql = $"select {Columns} from agent where agent_id = @agentId";

    public Task<AgentRow?> FindAsync(string agentId, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<AgentRow>(FindSql, new { agentId }, cancellationToken);

    public static Task<AgentRow?> FindAsync(Database.Write write, string agentId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<AgentRow>(FindSql, new { agentId }, cancellationToken);

    private const string HostnameStarts = "(@hostnamePrefix is null or substr(hostname, 1, length(@hostnamePrefix)) = @hostnamePrefix)";

    public async Task<IReadOnlyList<AgentRow>> ListAsync(string? afterId, int limit, string? hostnamePrefix, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from agent
            where (@afterId is null or agent_id > @afterId) and {HostnameStarts}
            order by agent_id
            limit @take
            """;
        return await database.QueryAsync<AgentRow>(sql, new { afterId, hostnamePrefix, take = limit + 1 }, cancellationToken);
    }

    /// <summary>
    /// Up to <paramref name="limit"/>+1 agents, silent first: those never heard from (by id), then the oldest heartbeat first
    /// (ties by id), after <paramref name="after"/> (null: from the start). Two ranges of the index agent_heartbeat_order, read
    /// apart because the providers put nulls at opposite ends of it.
    /// </summary>
    public async Task<IReadOnlyList<AgentRow>> ListByHeartbeatAsync((DateTimeOffset? HeartbeatAt, string AgentId)? after, int limit, string? hostnamePrefix, CancellationToken cancellationToken)
    {
        var take = limit + 1;
        var rows = new List<AgentRow>();
        if (after is not { HeartbeatAt: not null })
        {
            rows.AddRange(await database.QueryAsync<AgentRow>(NeverHeardSql(after is not null), new { afterId = after?.AgentId, hostnamePrefix, take }, cancellationToken));
            if (rows.Count == take)
                return rows;
        }

        rows.AddRange(await database.QueryAsync<AgentRow>(HeardSql(after is { HeartbeatAt: not null }),
            new { afterTime = after?.HeartbeatAt, afterId = after?.AgentId, hostnamePrefix, take = take - rows.Count }, cancellationToken));
        return rows;
    }

    /// <summary>
    /// The agents never heard from, by id, after @afterId when <paramref name="after"/> (public, as <see cref="HeardSql"/>: a
    /// test reads their query plans). Ordered by heartbeat_at too, although it is null in each: the index's own order, so
    /// that the index is read in order.
    /// </summary>
    public static string NeverHeardSql(bool after) => $"""
        select {Columns} from agent
        where heartbeat_at is null {(after ? "and agent_id > @afterId" : "")} and {HostnameStarts}
        order by heartbeat_at, agent_id
        limit @take
        """;

    /// <summary>The agents heard from, oldest heartbeat first (after @afterTime, @afterId when <paramref name="after"/>).</summary>
    public static string HeardSql(bool after) => $"""
        select {Columns} from agent
        where heartbeat_at is not null {(after ? "and (heartbeat_at, agent_id) > (@afterTime, @afterId)" : "")} and {HostnameStarts}
        order by heartbeat_at, agent_id
        limit @take
        """;

    /// <summary>Replaces the labels if the agent is still at <paramref name="expectedVersion"/> (or any version when null).</summary>
    public static async Task<bool> ReplaceLabelsAsync(Database.Write write, string agentId, string labelsJson, int? expectedVersion, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            "update agent set labels_json = @labelsJson, version = version + 1 where agent_id = @agentId and (@expectedVersion is null or version = @expectedVersion)",
            new { agentId, labelsJson, expectedVersion }, cancellationToken) == 1;

    /// <summary>Marks the agent decommissioned unless it already is; false when it was (or there is no such agent).</summary>
    public static async Task<bool> DecommissionAsync(Database.Write write, string agentId, DateTimeOffset now, string decommissionedBy, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            "update agent set decommissioned_at = @now, decommissioned_by = @decommissionedBy, version = version + 1 where agent_id = @agentId and decommissioned_at is null",
            new { agentId, now, decommissionedBy }, cancellationToken) == 1;

    /// <summary>Revokes every credential bound to the agent that still works: what it holds stops letting it in.</summary>
    public static Task<int> RevokeCredentialsAsync(Database.Write write, string agentId, DateTimeOffset now, CancellationToken cancellationToken) =>
        write.ExecuteAsync("update api_token set revoked_at = @now where agent_id = @agentId and revoked_at is null", new { agentId, now }, cancellationToken);

    /// <summary>Last seen now; version and OS when given; the status when given (kept as it was otherwise).</summary>
    public static Task<AgentRow?> RecordHeartbeatAsync(Database.Write write, string agentId, string? agentVersion, string? os, AgentStatus? status, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var statusJson = status is null ? null : System.Text.Json.JsonSerializer.Serialize(status, Telemetry.Segments.Json);
        return write.QuerySingleOrDefaultAsync<AgentRow>(
            $"""
            update agent set last_seen_at = @now, heartbeat_at = @now, agent_version = coalesce(@agentVersion, agent_version), os = coalesce(@os, os),
                status_json = coalesce(@statusJson, status_json),
                status_reported_at = case when @statusJson is null then status_reported_at else @now end
            where agent_id = @agentId
            returning {Columns}
            """,
            new { agentId, agentVersion, os, statusJson, now }, cancellationToken);
    }
}

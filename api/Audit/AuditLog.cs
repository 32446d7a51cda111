namespace Platform.Api.Audit;

public sealed class AuditRow
{
    public required string AuditId { get; init; }
    public required DateTimeOffset Time { get; init; }
    public string? ActorTokenId { get; init; }
    public required string ActorRole { get; init; }
    public required string Action { get; init; }
    public required string TargetType { get; init; }
    public required string TargetId { get; init; }
    public string? BeforeJson { get; init; }
    public string? AfterJson { get; init; }
}

public sealed record AuditQuery(string? AfterId, int Limit, string? ActorTokenId, string? Action, string? TargetType, string? TargetId, DateTimeOffset? Since, DateTimeOffset? Until);

/// <summary>
/// The append-only record of changes made by people and pipelines. Entries are written in the same
/// transaction as the change, so there is no change without its entry. Nothing updates or deletes them.
/// </summary>
public sealed class AuditLog(Database database, TimeProvider time)
{
    public const string SystemActor = "system";

    private static readonly JsonSerializerOptions SnapshotJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new UtcTimestampConverter(), new System.Text.Json.Serialization.JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false) },
    };

    private const string Columns = "audit_id, time, actor_token_id, actor_role, action, target_type, target_id, before_json, after_json";
    private static readonly string Insert = InsertStatement.For("audit_entry", Columns);

    /// <summary>Appends one entry. <paramref name="before"/> and <paramref name="after"/> are the target's API representation (never secrets).</summary>
    public Task AppendAsync(Database.Write write, Caller? actor, string action, string targetType, string targetId, object? before, object? after, CancellationToken cancellationToken) =>
        AppendAsync(write, actor?.TokenId, actor is null ? SystemActor : SpecEnum.ToSpec(actor.Role), action, targetType, targetId, before, after, cancellationToken);

    /// <summary>Appends one entry for an actor that is no <see cref="Caller"/> (an enrollment token: role <c>enrollment</c>).</summary>
    public Task AppendAsync(Database.Write write, string? actorTokenId, string actorRole, string action, string targetType, string targetId, object? before, object? after, CancellationToken cancellationToken)
    {
        var row = new AuditRow
        {
            AuditId = Ids.New("aud"),
            Time = time.GetUtcNow(),
            ActorTokenId = actorTokenId,
            ActorRole = actorRole,
            Action = action,
            TargetType = targetType,
            TargetId = targetId,
            BeforeJson = before is null ? null : JsonSerializer.Serialize(before, SnapshotJson),
            AfterJson = after is null ? null : JsonSerializer.Serialize(after, SnapshotJson),
        };
        return write.ExecuteAsync(Insert, row, cancellationToken);
    }

    /// <summary>
    /// Appends one entry of a read of evidence (a forensic view, a bundle download: the chain of custody), in a write of
    /// its own: one row a request, whatever the request returns. The read is not answered unless its entry is written.
    /// </summary>
    public async Task AppendReadAsync(Caller actor, string action, string targetType, string targetId, object details, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await AppendAsync(write, actor, action, targetType, targetId, null, details, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }

    /// <summary>In write order (ids are time-ordered), up to limit+1 rows.</summary>
    public async Task<IReadOnlyList<AuditRow>> ListAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from audit_entry
            where (@AfterId is null or audit_id > @AfterId)
              and (@ActorTokenId is null or actor_token_id = @ActorTokenId)
              and (@Action is null or action = @Action)
              and (@TargetType is null or target_type = @TargetType)
              and (@TargetId is null or target_id = @TargetId)
              and (@Since is null or time >= @Since)
              and (@Until is null or time < @Until)
            order by audit_id
            limit @Take
            """;
        await using var db = await database.OpenAsync(cancellationToken);
        var rows = await db.QueryAsync<AuditRow>(new CommandDefinition(
            sql,
            new { query.AfterId, query.ActorTokenId, query.Action, query.TargetType, query.TargetId, query.Since, query.Until, Take = query.Limit + 1 },
            cancellationToken: cancellationToken));
        return rows.AsList();
    }

    public static AuditEntry ToContract(AuditRow row) => new()
    {
        Id = row.AuditId,
        Time = row.Time,
        ActorTokenId = row.ActorTokenId,
        ActorRole = row.ActorRole,
        Action = row.Action,
        TargetType = row.TargetType,
        TargetId = row.TargetId,
        Before = Snapshot(row.BeforeJson),
        After = Snapshot(row.AfterJson),
    };

    private static AuditSnapshot? Snapshot(string? json) => json is null
        ? null
        : new AuditSnapshot { AdditionalProperties = JsonSerializer.Deserialize<Dictionary<string, object>>(json, SnapshotJson)! };
}

namespace Platform.Api.Fim;

public sealed class BaselineCheckRow
{
    public required string RuleId { get; init; }
    public required string Path { get; init; }
    public required DateTimeOffset CheckedAt { get; init; }
    public required string Result { get; init; }

    /// <summary>How a difference was detected (FimBaselineChange: seen, at, action), or all null.</summary>
    public string? ChangeSeen { get; init; }

    public DateTimeOffset? ChangeAt { get; init; }

    public string? ChangeAction { get; init; }
}

/// <summary>The latest baseline comparison per agent, rule and path.</summary>
public sealed class ComplianceStore(Database database)
{
    /// <summary>Keeps the newest check of each rule and path; an older report never overwrites a newer one.</summary>
    public static async Task RecordAsync(Database.Write write, string agentId, IEnumerable<BaselineCheckRow> checks, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into fim_baseline_check (agent_id, rule_id, path, checked_at, result, change_seen, change_at, change_action)
            values (@agentId, @RuleId, @Path, @CheckedAt, @Result, @ChangeSeen, @ChangeAt, @ChangeAction)
            on conflict (agent_id, rule_id, path) do update set checked_at = excluded.checked_at, result = excluded.result,
                change_seen = excluded.change_seen, change_at = excluded.change_at, change_action = excluded.change_action
            where excluded.checked_at > fim_baseline_check.checked_at
            """;
        foreach (var check in checks)
        {
            await write.Db.ExecuteAsync(new CommandDefinition(sql, new { agentId, check.RuleId, check.Path, check.CheckedAt, check.Result, check.ChangeSeen, check.ChangeAt, check.ChangeAction }, write.Transaction, cancellationToken: cancellationToken));
        }
    }

    public async Task<IReadOnlyList<BaselineCheckRow>> ChecksAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<BaselineCheckRow>(new CommandDefinition(
            "select rule_id, path, checked_at, result, change_seen, change_at, change_action from fim_baseline_check where agent_id = @agentId", new { agentId }, cancellationToken: cancellationToken))).AsList();
    }
}

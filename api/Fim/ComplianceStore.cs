using Dapper;
using Platform.Api.Storage;

namespace Platform.Api.Fim;

public sealed class BaselineCheckRow
{
    public required string RuleId { get; init; }
    public required string Path { get; init; }
    public required DateTimeOffset CheckedAt { get; init; }
    public required string Result { get; init; }
}

/// <summary>The latest baseline comparison per agent, rule and path.</summary>
public sealed class ComplianceStore(Database database)
{
    /// <summary>Keeps the newest check of each rule and path; an older report never overwrites a newer one.</summary>
    public async Task RecordAsync(string agentId, IEnumerable<BaselineCheckRow> checks, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into fim_baseline_check (agent_id, rule_id, path, checked_at, result)
            values (@agentId, @RuleId, @Path, @CheckedAt, @Result)
            on conflict (agent_id, rule_id, path) do update set checked_at = excluded.checked_at, result = excluded.result
            where excluded.checked_at > fim_baseline_check.checked_at
            """;
        await using var db = await database.OpenAsync(cancellationToken);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken);
        foreach (var check in checks)
        {
            await db.ExecuteAsync(new CommandDefinition(sql, new { agentId, check.RuleId, check.Path, check.CheckedAt, check.Result }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<BaselineCheckRow>> ChecksAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<BaselineCheckRow>(new CommandDefinition(
            "select rule_id, path, checked_at, result from fim_baseline_check where agent_id = @agentId", new { agentId }, cancellationToken: cancellationToken))).AsList();
    }
}

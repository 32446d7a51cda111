namespace Platform.Api.Fim;

/// <summary>
/// Unlock windows of prevent rules. Every window is kept (its end moved earlier when it is ended or replaced), so
/// that an alert reported late can still be placed in one. Changes take the rule-change lock and bump the policy
/// generation, so every API instance serves agents the window, or its end, at their next poll.
/// </summary>
public sealed class FimUnlockStore(Database database)
{
    private const string Columns = "unlock_id, rule_id, unlocked_from, unlocked_until, reason, unlocked_by, ended_by";
    private static readonly string Insert = InsertStatement.For("fim_rule_unlock", Columns);

    /// <summary>The window of the rule open at <paramref name="now"/>, if any.</summary>
    public static Task<FimUnlockRow?> OpenAsync(Database.Write write, string ruleId, DateTimeOffset now, CancellationToken cancellationToken) =>
        write.Db.QueryFirstOrDefaultAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where rule_id = @ruleId and unlocked_from <= @now and unlocked_until > @now order by unlocked_from desc, unlock_id desc",
            new { ruleId, now }, write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Every window open at <paramref name="now"/>, by rule (at most one a rule: a new one ends the one before).</summary>
    public async Task<IReadOnlyDictionary<string, FimUnlockRow>> AllOpenAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var rows = await db.QueryAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where unlocked_until > @now and unlocked_from <= @now order by unlocked_from, unlock_id", new { now }, cancellationToken: cancellationToken));
        var open = new Dictionary<string, FimUnlockRow>(StringComparer.Ordinal);
        foreach (var row in rows)
            open[row.RuleId] = row;
        return open;
    }

    /// <summary>The windows of a rule that overlap [<paramref name="from"/>, <paramref name="until"/>).</summary>
    public async Task<IReadOnlyList<FimUnlockRow>> OverlappingAsync(string ruleId, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where rule_id = @ruleId and unlocked_until > @from and unlocked_from < @until order by unlocked_from limit 1000",
            new { ruleId, from, until }, cancellationToken: cancellationToken))).AsList();
    }

    public static Task InsertAsync(Database.Write write, FimUnlockRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(Insert, row, cancellationToken);

    /// <summary>Ends a window now (its end moves to <paramref name="now"/>).</summary>
    public static Task EndAsync(Database.Write write, string unlockId, DateTimeOffset now, string? endedBy, CancellationToken cancellationToken) =>
        write.ExecuteAsync(
            "update fim_rule_unlock set unlocked_until = @now, ended_by = @endedBy where unlock_id = @unlockId and unlocked_until > @now",
            new { unlockId, now, endedBy }, cancellationToken);
}

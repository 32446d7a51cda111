namespace Platform.Api.Fim;

public sealed class FimRuleRow
{
    public required string RuleId { get; init; }
    public required string Name { get; init; }
    public required string SpecJson { get; init; }
    public required string ComplianceTags { get; init; }
    public required int Version { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string? CreatedBy { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public string? UpdatedBy { get; init; }
}

public sealed class FimRuleVersionRow
{
    public required string RuleId { get; init; }
    public required int Version { get; init; }
    public required string Change { get; init; }
    public required string SpecJson { get; init; }
    public required DateTimeOffset ChangedAt { get; init; }
    public string? ChangedBy { get; init; }
}

/// <summary>
/// FIM rules and their history. Every change takes the policy-state row first (<see cref="LockAsync"/>)
/// and bumps its generation, so rule writes are serialised and policy caches know when to reload.
/// </summary>
public sealed class FimRuleStore(Database database)
{
    private const string Columns = "rule_id, name, spec_json, compliance_tags, version, created_at, created_by, updated_at, updated_by";
    private static readonly string Insert = InsertStatement.For("fim_rule", Columns);
    private const string VersionColumns = "rule_id, version, change, spec_json, changed_at, changed_by";
    private static readonly string InsertVersion = InsertStatement.For("fim_rule_version", VersionColumns);

    /// <summary>Serialises rule changes (PostgreSQL row lock; SQLite write transactions are serial already).</summary>
    public Task LockAsync(Database.Write write, CancellationToken cancellationToken) =>
        write.Db.ExecuteScalarAsync<long>(new CommandDefinition(
            "select generation from fim_policy_state where id = 1" + (database.Provider == StorageProvider.Postgres ? " for update" : ""),
            transaction: write.Transaction, cancellationToken: cancellationToken));

    public static Task BumpGenerationAsync(Database.Write write, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition("update fim_policy_state set generation = generation + 1 where id = 1", transaction: write.Transaction, cancellationToken: cancellationToken));

    public async Task<long> GenerationAsync(CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteScalarAsync<long>(new CommandDefinition("select generation from fim_policy_state where id = 1", cancellationToken: cancellationToken));
    }

    private const string FindSql = $"select {Columns} from fim_rule where rule_id = @ruleId";

    public static Task<FimRuleRow?> FindAsync(Database.Write write, string ruleId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<FimRuleRow>(FindSql, new { ruleId }, cancellationToken);

    public Task<FimRuleRow?> FindAsync(string ruleId, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<FimRuleRow>(FindSql, new { ruleId }, cancellationToken);

    public static Task<FimRuleRow?> FindByNameAsync(Database.Write write, string name, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<FimRuleRow>($"select {Columns} from fim_rule where name = @name", new { name }, cancellationToken);

    private static async Task<IReadOnlyList<FimRuleRow>> AllAsync(DbConnection db, DbTransaction? transaction, CancellationToken cancellationToken) =>
        (await db.QueryAsync<FimRuleRow>(new CommandDefinition($"select {Columns} from fim_rule order by name", transaction: transaction, cancellationToken: cancellationToken))).AsList();

    public static Task<IReadOnlyList<FimRuleRow>> AllAsync(Database.Write write, CancellationToken cancellationToken) =>
        AllAsync(write.Db, write.Transaction, cancellationToken);

    /// <summary>
    /// The generation, then every rule. Read in that order without a transaction: a change in between
    /// leaves newer rules under an older generation, which only makes the next reader load them again.
    /// </summary>
    public async Task<(long Generation, IReadOnlyList<FimRuleRow> Rules)> SnapshotAsync(CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var generation = await db.ExecuteScalarAsync<long>(new CommandDefinition("select generation from fim_policy_state where id = 1", cancellationToken: cancellationToken));
        return (generation, await AllAsync(db, null, cancellationToken));
    }

    /// <summary>By name; up to limit+1 rows.</summary>
    public async Task<IReadOnlyList<FimRuleRow>> ListAsync(string? afterName, int limit, string? complianceTag, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from fim_rule
            where (@afterName is null or name > @afterName)
              and (@tag is null or compliance_tags like @tag)
            order by name
            limit @take
            """;
        var tag = complianceTag is null ? null : "%," + complianceTag + ",%";
        return await database.QueryAsync<FimRuleRow>(sql, new { afterName, tag, take = limit + 1 }, cancellationToken);
    }

    public static Task InsertAsync(Database.Write write, FimRuleRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(Insert, row, cancellationToken);

    public static Task UpdateAsync(Database.Write write, FimRuleRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(
            """
            update fim_rule set name = @Name, spec_json = @SpecJson, compliance_tags = @ComplianceTags, version = @Version,
                updated_at = @UpdatedAt, updated_by = @UpdatedBy
            where rule_id = @RuleId
            """,
            row, cancellationToken);

    public static Task DeleteAsync(Database.Write write, string ruleId, CancellationToken cancellationToken) =>
        write.ExecuteAsync("delete from fim_rule where rule_id = @ruleId", new { ruleId }, cancellationToken);

    public static Task AppendVersionAsync(Database.Write write, FimRuleVersionRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(InsertVersion, row, cancellationToken);

    private const string FindVersionSql = $"select {VersionColumns} from fim_rule_version where rule_id = @ruleId and version = @version";

    public static Task<FimRuleVersionRow?> FindVersionAsync(Database.Write write, string ruleId, int version, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<FimRuleVersionRow>(FindVersionSql, new { ruleId, version }, cancellationToken);

    public Task<FimRuleVersionRow?> FindVersionAsync(string ruleId, int version, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<FimRuleVersionRow>(FindVersionSql, new { ruleId, version }, cancellationToken);

    /// <summary>A version and the one after it (when there is one: what replaced it, and when).</summary>
    public Task<IReadOnlyList<FimRuleVersionRow>> VersionAndNextAsync(string ruleId, int version, CancellationToken cancellationToken) =>
        database.QueryAsync<FimRuleVersionRow>(
            $"select {VersionColumns} from fim_rule_version where rule_id = @ruleId and version in (@version, @next) order by version",
            new { ruleId, version, next = version + 1 }, cancellationToken);

    public static Task<FimRuleVersionRow?> LatestVersionAsync(Database.Write write, string ruleId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<FimRuleVersionRow>($"select {VersionColumns} from fim_rule_version where rule_id = @ruleId order by version desc limit 1", new { ruleId }, cancellationToken);

    /// <summary>Newest first, below <paramref name="beforeVersion"/>; up to limit+1 rows plus the one before the page's last, for its diff.</summary>
    public async Task<IReadOnlyList<FimRuleVersionRow>> ListVersionsAsync(string ruleId, int? beforeVersion, int take, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {VersionColumns} from fim_rule_version
            where rule_id = @ruleId and (@beforeVersion is null or version < @beforeVersion)
            order by version desc
            limit @take
            """;
        return await database.QueryAsync<FimRuleVersionRow>(sql, new { ruleId, beforeVersion, take }, cancellationToken);
    }

    /// <summary>The compliance tags column: ",a,b," so that a tag filter is one LIKE on both providers.</summary>
    public static string TagsColumn(IEnumerable<string>? tags) => "," + string.Join(",", tags ?? []) + ",";
}

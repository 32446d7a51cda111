namespace Platform.Api.Tokens;

public sealed class TokenRow : BearerSecretRow
{
    public required string TokenId { get; init; }
    public required string Role { get; init; }
    public string? AgentId { get; init; }
    public DateTimeOffset? LastUsedAt { get; init; }
}

/// <summary>API tokens (people, pipelines) and agent credentials. Secrets are stored as hashes only.</summary>
public sealed class TokenStore(Database database)
{
    private const string Columns = "token_id, name, role, agent_id, secret_hash, prefix, created_at, created_by, expires_at, revoked_at, last_used_at";
    private static readonly string Insert = InsertStatement.For("api_token", Columns);

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteScalarAsync<int>(new CommandDefinition("select count(*) from (select 1 from api_token limit 1) t", cancellationToken: cancellationToken)) > 0;
    }

    public static Task InsertAsync(Database.Write write, TokenRow token, CancellationToken cancellationToken) =>
        write.ExecuteAsync(Insert, token, cancellationToken);

    /// <summary>
    /// The token with this secret, and the agent it belongs to if it is an agent's credential, in one round trip:
    /// an agent's every push needs both (on PostgreSQL, a round trip a push less).
    /// </summary>
    public async Task<(TokenRow? Token, Agents.AgentRow? Agent)> FindBySecretHashAsync(string secretHash, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        await using var results = await db.QueryMultipleAsync(new CommandDefinition(
            $"""
            select {Columns} from api_token where secret_hash = @secretHash;
            select {Agents.AgentStore.Columns} from agent where agent_id = (select agent_id from api_token where secret_hash = @secretHash);
            """, new { secretHash }, cancellationToken: cancellationToken));
        var token = await results.ReadSingleOrDefaultAsync<TokenRow>();
        var agent = await results.ReadSingleOrDefaultAsync<Agents.AgentRow>();
        return (token, agent);
    }

    private const string FindSql = $"select {Columns} from api_token where token_id = @tokenId";

    public Task<TokenRow?> FindAsync(string tokenId, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<TokenRow>(FindSql, new { tokenId }, cancellationToken);

    public static Task<TokenRow?> FindAsync(Database.Write write, string tokenId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<TokenRow>(FindSql, new { tokenId }, cancellationToken);

    /// <summary>Oldest first; <paramref name="afterId"/> is the last id of the previous page. Returns up to limit+1 rows.</summary>
    public async Task<IReadOnlyList<TokenRow>> ListAsync(string? afterId, int limit, string? role, bool includeRevoked, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from api_token
            where (@afterId is null or token_id > @afterId)
              and (@role is null or role = @role)
              and (@includeRevoked or revoked_at is null)
            order by token_id
            limit @take
            """;
        return await database.QueryAsync<TokenRow>(sql, new { afterId, role, includeRevoked, take = limit + 1 }, cancellationToken);
    }

    /// <summary>Marks the token revoked if it is not already; true when this call revoked it.</summary>
    public static async Task<bool> RevokeAsync(Database.Write write, string tokenId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            "update api_token set revoked_at = @now where token_id = @tokenId and revoked_at is null",
            new { tokenId, now }, cancellationToken) == 1;

    /// <summary>
    /// The admin tokens that still work, locked until the transaction ends so that two revocations cannot
    /// both see "another admin is left" (SQLite's write transactions are serial already).
    /// </summary>
    public async Task<int> CountWorkingAdminsForUpdateAsync(Database.Write write, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sql = "select token_id from api_token where role = 'admin' and revoked_at is null and (expires_at is null or expires_at > @now)"
            + (database.Provider == StorageProvider.Postgres ? " for update" : "");
        var rows = await write.Db.QueryAsync<string>(new CommandDefinition(sql, new { now }, write.Transaction, cancellationToken: cancellationToken));
        return rows.Count();
    }

    /// <summary>Records use to the minute, so a busy token costs one write a minute, not one per request.</summary>
    public static Task TouchAsync(Database.Write write, string tokenId, DateTimeOffset now, CancellationToken cancellationToken) =>
        write.ExecuteAsync(
            "update api_token set last_used_at = @now where token_id = @tokenId and (last_used_at is null or last_used_at < @staleBefore)",
            new { tokenId, now, staleBefore = now.AddMinutes(-1) }, cancellationToken);
}

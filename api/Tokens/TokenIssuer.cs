namespace Platform.Api.Tokens;

/// <summary>Makes API tokens and agent credentials: a fresh secret, of which only the hash is kept.</summary>
public sealed class TokenIssuer(TimeProvider time)
{
    public async Task<(TokenRow Row, string Secret)> IssueAsync(
        Database.Write write, string name, Role role, string? agentId, DateTimeOffset? expiresAt, string? createdBy, CancellationToken cancellationToken, string? secret = null)
    {
        secret ??= Secrets.New(Secrets.ApiTokenPrefix);
        var row = new TokenRow
        {
            TokenId = Ids.New("tok"),
            Name = name,
            Role = SpecEnum.ToSpec(role),
            AgentId = agentId,
            SecretHash = Secrets.Hash(secret),
            Prefix = Secrets.Display(secret),
            CreatedAt = time.GetUtcNow(),
            CreatedBy = createdBy,
            ExpiresAt = expiresAt?.ToUniversalTime(),
        };
        await TokenStore.InsertAsync(write, row, cancellationToken);
        return (row, secret);
    }

    public static Token ToContract(TokenRow row) => new()
    {
        Id = row.TokenId,
        Name = row.Name,
        Role = SpecEnum.FromSpec<Role>(row.Role),
        AgentId = row.AgentId,
        Prefix = row.Prefix,
        CreatedAt = row.CreatedAt,
        CreatedBy = row.CreatedBy,
        ExpiresAt = row.ExpiresAt,
        RevokedAt = row.RevokedAt,
        LastUsedAt = row.LastUsedAt,
    };
}

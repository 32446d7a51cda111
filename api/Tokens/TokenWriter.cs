using Platform.Api.Audit;

namespace Platform.Api.Tokens;

/// <summary>What a revocation did: revoked (or already revoked), not there (404), or refused as the last working admin token (409).</summary>
public enum TokenRevocation
{
    Revoked,
    NotFound,
    LastAdmin,
}

/// <summary>Token changes with their audit entry, each in one write; a revocation also drops the cached credentials.</summary>
public sealed class TokenWriter(Database database, TokenStore tokens, TokenIssuer issuer, CredentialCache credentials, AuditLog audit, TimeProvider time)
{
    public async Task<(Token Token, string Secret)> CreateAsync(Caller caller, TokenCreate body, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (row, secret) = await issuer.IssueAsync(write, body.Name, body.Role, agentId: null, body.ExpiresAt, caller.TokenId, cancellationToken);
        var token = TokenIssuer.ToContract(row);
        await audit.AppendAsync(write, caller, "token.create", "token", row.TokenId, null, token, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (token, secret);
    }

    /// <summary>Records a token's use (<see cref="TokenStore.TouchAsync"/>: to the minute), in a write of its own, with no audit entry.</summary>
    public async Task RecordUseAsync(string tokenId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await TokenStore.TouchAsync(write, tokenId, now, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }

    public async Task<TokenRevocation> RevokeAsync(Caller caller, string tokenId, CancellationToken cancellationToken)
    {
        await using (var write = await database.BeginWriteAsync(cancellationToken))
        {
            var before = await TokenStore.FindAsync(write, tokenId, cancellationToken);
            if (before is null)
                return TokenRevocation.NotFound;
            var now = time.GetUtcNow();
            if (before.Role == SpecEnum.ToSpec(Role.Admin) && before.Refusal(now, "token") is null
                && await tokens.CountWorkingAdminsForUpdateAsync(write, now, cancellationToken) <= 1)
                return TokenRevocation.LastAdmin;
            if (await TokenStore.RevokeAsync(write, tokenId, now, cancellationToken))
            {
                var after = await TokenStore.FindAsync(write, tokenId, cancellationToken);
                await audit.AppendAsync(write, caller, "token.revoke", "token", tokenId, TokenIssuer.ToContract(before), TokenIssuer.ToContract(after!), cancellationToken);
            }

            await write.CommitAsync(cancellationToken);
        }

        credentials.Forget();
        return TokenRevocation.Revoked;
    }
}

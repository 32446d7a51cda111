using FluentValidation;
using Platform.Api.Audit;
using Platform.Api.Auth;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Tokens;

public sealed class TokenCreateValidator : AbstractValidator<TokenCreate>
{
    public TokenCreateValidator(TimeProvider time)
    {
        RuleFor(t => t.Name).NotBlank();
        RuleFor(t => t.Role).NotEqual(Role.Agent).WithMessage("Agent credentials come from enrollment (enrollAgent), not from createToken.");
        RuleFor(t => t.ExpiresAt).InTheFuture(time);
    }
}

public sealed class TokenEndpoints(Database database, TokenStore tokens, TokenIssuer issuer, CredentialCache credentials, AuditLog audit, TimeProvider time, Cursors cursors) : TokensHandlersBase
{
    public override async Task<IResult> CreateToken(HttpContext http, TokenCreate body, CancellationToken cancellationToken)
    {
        var caller = http.Caller();
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (row, secret) = await issuer.IssueAsync(write, body.Name, body.Role, agentId: null, body.ExpiresAt, caller.TokenId, cancellationToken);
        var token = TokenIssuer.ToContract(row);
        await audit.AppendAsync(write, caller, "token.create", "token", row.TokenId, null, token, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return TypedResults.Created($"/api/v1/tokens/{row.TokenId}", new TokenCreated { Token = token, Secret = secret });
    }

    public override async Task<IResult> ListTokens(HttpContext http, int limit, string? cursor, Role? role, bool includeRevoked, CancellationToken cancellationToken)
    {
        var roleText = role is { } r ? SpecEnum.ToSpec(r) : null;
        var rows = await tokens.ListAsync(cursors.TryDecode(CursorLists.Tokens, cursor, out var after) ? after : null, limit, roleText, includeRevoked, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Tokens, row => row.TokenId);
        return TypedResults.Ok(new TokenPage { Items = items.Select(TokenIssuer.ToContract).ToList(), NextCursor = next });
    }

    public override async Task<IResult> GetToken(HttpContext http, string tokenId, CancellationToken cancellationToken) =>
        await tokens.FindAsync(tokenId, cancellationToken) is { } row
            ? TypedResults.Ok(TokenIssuer.ToContract(row))
            : Problems.NotFound($"Token '{tokenId}' does not exist.");

    public override async Task<IResult> RevokeToken(HttpContext http, string tokenId, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var before = await TokenStore.FindAsync(write, tokenId, cancellationToken);
        if (before is null)
            return Problems.NotFound($"Token '{tokenId}' does not exist.");
        var now = time.GetUtcNow();
        if (before.Role == SpecEnum.ToSpec(Role.Admin) && before.RevokedAt is null && !(before.ExpiresAt <= now)
            && await tokens.CountWorkingAdminsForUpdateAsync(write, now, cancellationToken) <= 1)
            return Problems.Conflict("This is the last working admin token; create another admin token before revoking it.");
        if (await TokenStore.RevokeAsync(write, tokenId, now, cancellationToken))
        {
            var after = await TokenStore.FindAsync(write, tokenId, cancellationToken);
            await audit.AppendAsync(write, http.Caller(), "token.revoke", "token", tokenId, TokenIssuer.ToContract(before), TokenIssuer.ToContract(after!), cancellationToken);
        }

        await write.CommitAsync(cancellationToken);
        credentials.Forget();
        return TypedResults.NoContent();
    }
}

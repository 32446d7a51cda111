using FluentValidation;
using Platform.Api.Generated;

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

public sealed class TokenEndpoints(TokenStore tokens, TokenWriter writer, Cursors cursors) : TokensHandlersBase
{
    public override async Task<Results<Created<TokenCreated>, ProblemHttpResult>> CreateToken(HttpContext http, TokenCreate body, CancellationToken cancellationToken)
    {
        var (token, secret) = await writer.CreateAsync(http.Caller(), body, cancellationToken);
        return TypedResults.Created($"/api/v1/tokens/{token.Id}", new TokenCreated { Token = token, Secret = secret });
    }

    public override async Task<Results<Ok<TokenPage>, ProblemHttpResult>> ListTokens(HttpContext http, int limit, string? cursor, Role? role, bool includeRevoked, CancellationToken cancellationToken)
    {
        var roleText = role is { } r ? SpecEnum.ToSpec(r) : null;
        var rows = await tokens.ListAsync(cursors.TryDecode(CursorLists.Tokens, cursor, out var after) ? after : null, limit, roleText, includeRevoked, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Tokens, row => row.TokenId);
        return TypedResults.Ok(new TokenPage { Items = items.Select(TokenIssuer.ToContract).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<Token>, ProblemHttpResult>> GetToken(HttpContext http, string tokenId, CancellationToken cancellationToken) =>
        await tokens.FindAsync(tokenId, cancellationToken) is { } row
            ? TypedResults.Ok(TokenIssuer.ToContract(row))
            : Problems.NotFound($"Token '{tokenId}' does not exist.");

    public override async Task<Results<Ok<CurrentToken>, ProblemHttpResult>> GetCurrentToken(HttpContext http, CancellationToken cancellationToken)
    {
        var caller = http.Caller();
        return await tokens.FindAsync(caller.TokenId, cancellationToken) is { } row
            ? TypedResults.Ok(new CurrentToken { Token = TokenIssuer.ToContract(row), Operations = OperationAccess.CallableBy(caller.Role).ToList() })
            : Problems.NotFound($"Token '{caller.TokenId}' does not exist.");
    }

    public override async Task<Results<NoContent, ProblemHttpResult>> RevokeToken(HttpContext http, string tokenId, CancellationToken cancellationToken) =>
        await writer.RevokeAsync(http.Caller(), tokenId, cancellationToken) switch
        {
            TokenRevocation.NotFound => Problems.NotFound($"Token '{tokenId}' does not exist."),
            TokenRevocation.LastAdmin => Problems.Conflict("This is the last working admin token; create another admin token before revoking it."),
            _ => TypedResults.NoContent(),
        };
}

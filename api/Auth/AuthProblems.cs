using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Platform.Api.Auth;

/// <summary>401 and 403 as problem documents that say why: no token, which token problem, which roles the operation needs.</summary>
public sealed class AuthProblems(IProblemDetailsService problems) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            // Failed authentications are not kept on the request; asking again returns the handler's cached result.
            var failure = (await context.AuthenticateAsync()).Failure;
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = failure is null ? "Bearer" : "Bearer error=\"invalid_token\"";
            await Write(context, "Authentication is required.", failure?.Message ?? "Send a token as 'Authorization: Bearer <token>'.",
                failure is AgentDecommissioned ? AgentDecommissioned.ProblemType : null);
        }
        else if (authorizeResult.Forbidden)
        {
            var reason = authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault()?.Message ?? "This token may not call this operation.";
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await Write(context, "This token may not do that.", reason);
        }
        else
        {
            await _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }

    /// <param name="type">The problem's type; null: the status's own (unauthorized, forbidden).</param>
    private Task Write(HttpContext context, string title, string detail, string? type = null) =>
        problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = context.Response.StatusCode, Title = title, Detail = detail, Type = type },
        }).AsTask();
}

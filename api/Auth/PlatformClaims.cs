using System.Security.Claims;

namespace Platform.Api.Auth;

public static class PlatformClaims
{
    public const string TokenId = "platform:token_id";
    public const string AgentId = "platform:agent_id";
    public const string EnrollmentTokenId = "platform:enrollment_token_id";

    /// <summary>The pseudo-role of an enrollment token: it may call enrollAgent and nothing else.</summary>
    public const string EnrollmentRole = "enrollment";
}

/// <summary>Who is calling: the token, its role and, for agent credentials, the agent it is bound to.</summary>
public sealed record Caller(string TokenId, Role Role, string? AgentId)
{
    public static Caller From(ClaimsPrincipal user)
    {
        var tokenId = user.FindFirstValue(PlatformClaims.TokenId)
            ?? throw new InvalidOperationException("The operation's access entry lets unauthenticated callers in, but its handler needs a caller.");
        return new Caller(tokenId, Http.SpecEnum.FromSpec<Role>(user.FindFirstValue(ClaimTypes.Role)!), user.FindFirstValue(PlatformClaims.AgentId));
    }

    /// <summary>An agent credential sees only its own agent; people's tokens see every agent.</summary>
    public bool MaySee(string agentId) => Role != Role.Agent || string.Equals(AgentId, agentId, StringComparison.Ordinal);
}

public static class CallerExtensions
{
    public static Caller Caller(this HttpContext http) => Auth.Caller.From(http.User);
}

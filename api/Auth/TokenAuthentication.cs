using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Platform.Api.Agents;
using Platform.Api.Enrollment;
using Platform.Api.Tokens;

namespace Platform.Api.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;secret&gt;</c>: API tokens and agent credentials (<c>plt_</c>), and enrollment
/// tokens (<c>ple_</c>, which may only enroll). Unknown, expired and revoked secrets get 401 saying which.
/// </summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenStore tokens,
    TokenWriter tokenWriter,
    EnrollmentStore enrollments,
    CredentialCache credentials,
    TimeProvider time)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
            return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <token>'.");

        var secret = header[7..].Trim();
        var hash = Secrets.Hash(secret);
        var now = time.GetUtcNow();
        var cancellationToken = Context.RequestAborted;

        if (secret.StartsWith(Secrets.EnrollmentTokenPrefix, StringComparison.Ordinal))
        {
            var enrollment = await enrollments.FindBySecretHashAsync(hash, cancellationToken);
            if (enrollment is null)
                return AuthenticateResult.Fail("The enrollment token is not known.");
            if (enrollment.Refusal(now, "enrollment token") is { } refusedEnrollment)
                return AuthenticateResult.Fail(refusedEnrollment);
            return Success(
                new Claim(PlatformClaims.EnrollmentTokenId, enrollment.EnrollmentTokenId),
                new Claim(ClaimTypes.Role, PlatformClaims.EnrollmentRole));
        }

        if (!credentials.TryGet(hash, out var credential))
        {
            var (found, foundAgent) = await tokens.FindBySecretHashAsync(hash, cancellationToken);
            if (found is null)
                return AuthenticateResult.Fail("The token is not known.");
            credentials.Remember(hash, credential = new CredentialCache.Credential(found, foundAgent));
        }

        var (token, agent) = credential;
        // Said before the revocation that came with it: the agent's holder learns why it is locked out for good.
        if (agent?.DecommissionedAt is { } decommissionedAt)
            return AuthenticateResult.Fail(new AgentDecommissioned($"The agent {agent.AgentId} was decommissioned at {decommissionedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)}; its credentials no longer work. Enroll the host again to watch it as a new agent."));
        if (token.Refusal(now, "token") is { } refused)
            return AuthenticateResult.Fail(refused);

        // Use is recorded to the minute: most requests write nothing (a write here would queue behind ingest).
        if (token.LastUsedAt is null || now - token.LastUsedAt >= TimeSpan.FromMinutes(1))
        {
            await tokenWriter.RecordUseAsync(token.TokenId, now, cancellationToken);
            credentials.Forget(hash);
        }

        var claims = new List<Claim>
        {
            new(PlatformClaims.TokenId, token.TokenId),
            new(ClaimTypes.Name, token.Name),
            new(ClaimTypes.Role, token.Role),
        };
        if (token.AgentId is not null)
            claims.Add(new Claim(PlatformClaims.AgentId, token.AgentId));
        if (agent is not null)
            Context.RememberCallerAgent(agent);
        return Success([.. claims]);
    }

    private AuthenticateResult Success(params Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
}

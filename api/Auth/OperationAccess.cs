using Microsoft.AspNetCore.Authorization;

namespace Platform.Api.Auth;

/// <summary>Who may call an operation: nobody needs a token, an enrollment token, or one of some roles.</summary>
public sealed record Access(bool Anonymous, bool Enrollment, IReadOnlySet<Role> Roles)
{
    public static readonly Access Public = new(true, false, new HashSet<Role>());
    public static readonly Access EnrollmentToken = new(false, true, new HashSet<Role>());

    public static Access For(params Role[] roles) => new(false, false, roles.ToHashSet());
}

/// <summary>
/// The authorization table: for every operationId in openapi.yaml, who may call it. One place to read and
/// review; an operation missing from it is refused for everyone, and a test fails.
/// Checks that depend on the data (an agent may only touch its own agent) are in the handlers.
/// </summary>
public static class OperationAccess
{
    public const string PolicyName = "operation-access";

    /// <summary>Every role a person (or a person's integration) holds: all of them read.</summary>
    private static readonly Role[] People = [Role.Admin, Role.Operator, Role.Responder, Role.Analyst];

    /// <summary>Who runs triage: the incident lifecycle and FIM alert acknowledgement. A SOAR integration
    /// holds `responder`, which changes no rule, token, enrollment or webhook.</summary>
    private static readonly Role[] Triage = [Role.Admin, Role.Operator, Role.Responder];

    public static readonly IReadOnlyDictionary<string, Access> Table = new Dictionary<string, Access>(StringComparer.Ordinal)
    {
        // Health
        ["getHealth"] = Access.Public,
        ["getReadiness"] = Access.Public,
        // Tokens
        ["createToken"] = Access.For(Role.Admin),
        ["listTokens"] = Access.For(Role.Admin),
        ["getToken"] = Access.For(Role.Admin),
        ["getCurrentToken"] = Access.For(People),
        ["revokeToken"] = Access.For(Role.Admin),
        // Enrollment
        ["createEnrollmentToken"] = Access.For(Role.Admin),
        ["listEnrollmentTokens"] = Access.For(Role.Admin),
        ["revokeEnrollmentToken"] = Access.For(Role.Admin),
        // Agents
        ["enrollAgent"] = Access.EnrollmentToken,
        ["listAgents"] = Access.For(People),
        ["getAgent"] = Access.For([.. People, Role.Agent]),
        ["replaceAgentLabels"] = Access.For(Role.Admin, Role.Operator),
        ["recordAgentHeartbeat"] = Access.For(Role.Agent),
        // Retiring an agent revokes its credentials for good: an admin decision, like revoking a token
        ["decommissionAgent"] = Access.For(Role.Admin),
        // Audit
        ["listAuditEntries"] = Access.For(Role.Admin),
        // FIM rules: operators and pipelines change them, analysts read them
        ["createFimRule"] = Access.For(Role.Admin, Role.Operator),
        ["listFimRules"] = Access.For(People),
        ["getFimRule"] = Access.For(People),
        ["replaceFimRule"] = Access.For(Role.Admin, Role.Operator),
        ["deleteFimRule"] = Access.For(Role.Admin, Role.Operator),
        ["listFimRuleVersions"] = Access.For(People),
        ["restoreFimRuleVersion"] = Access.For(Role.Admin, Role.Operator),
        ["applyFimRuleSet"] = Access.For(Role.Admin, Role.Operator),
        // Unlocking a prevent rule for a deployment: who may change the rules (audited with the reason)
        ["unlockFimRule"] = Access.For(Role.Admin, Role.Operator),
        ["lockFimRule"] = Access.For(Role.Admin, Role.Operator),
        // FIM policy: the agent itself (its own only, checked in the handler) and people
        ["getEffectiveFimPolicy"] = Access.For([.. People, Role.Agent]),
        // FIM alerts: agents push their own (checked in the handler), people read and export
        ["pushFimAlerts"] = Access.For(Role.Agent),
        ["listFimAlerts"] = Access.For(People),
        ["exportFimAlerts"] = Access.For(People),
        ["acknowledgeFimAlert"] = Access.For(Triage),
        // Compliance evidence: agents report their baseline checks, people read the reports
        ["pushFimBaselineChecks"] = Access.For(Role.Agent),
        ["getPciReport"] = Access.For(People),
        // Flight data: agents push their own and may read their own (checked in the handlers), people read
        ["pushTelemetry"] = Access.For(Role.Agent),
        ["listTelemetryGaps"] = Access.For([.. People, Role.Agent]),
        ["replaceInventory"] = Access.For(Role.Agent),
        ["getInventory"] = Access.For([.. People, Role.Agent]),
        ["listTelemetryEvents"] = Access.For([.. People, Role.Agent]),
        // Forensics and incidents: people read; triage roles run the lifecycle
        ["getHostForensicView"] = Access.For(People),
        ["getContainerForensicView"] = Access.For(People),
        ["getHostForensicBundle"] = Access.For(People),
        ["getContainerForensicBundle"] = Access.For(People),
        // The bundle signing key: public, so that whoever holds a bundle can check it
        ["listSigningKeys"] = Access.Public,
        ["listIncidents"] = Access.For(People),
        ["countIncidents"] = Access.For(People),
        ["getIncident"] = Access.For(People),
        ["listIncidentFindings"] = Access.For(People),
        ["getIncidentRisk"] = Access.For(People),
        ["getIncidentBundle"] = Access.For(People),
        ["listIncidentNotes"] = Access.For(People),
        ["changeIncidentStatus"] = Access.For(Triage),
        ["assignIncident"] = Access.For(Triage),
        ["addIncidentNote"] = Access.For(Triage),
        ["changeIncidentsInBulk"] = Access.For(Triage),
        // Webhooks: where incidents go, so not for responders
        ["createWebhook"] = Access.For(Role.Admin, Role.Operator),
        ["listWebhooks"] = Access.For(Role.Admin, Role.Operator),
        ["getWebhook"] = Access.For(Role.Admin, Role.Operator),
        ["replaceWebhook"] = Access.For(Role.Admin, Role.Operator),
        ["rotateWebhookSecret"] = Access.For(Role.Admin, Role.Operator),
        ["deleteWebhook"] = Access.For(Role.Admin, Role.Operator),
        ["listWebhookDeliveries"] = Access.For(Role.Admin, Role.Operator),
        ["redeliverWebhookDelivery"] = Access.For(Role.Admin, Role.Operator),
    };

    /// <summary>The operationIds a token of this role may call (the public ones too), sorted: what getCurrentToken tells a client.</summary>
    public static IReadOnlyList<string> CallableBy(Role role) =>
        [.. Table.Where(entry => entry.Value.Anonymous || entry.Value.Roles.Contains(role)).Select(entry => entry.Key).Order(StringComparer.Ordinal)];

    public static IServiceCollection AddOperationAccess(this IServiceCollection services)
    {
        services.AddSingleton<IAuthorizationHandler, OperationAccessHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(PolicyName, policy => policy.AddRequirements(new OperationAccessRequirement()));
        return services;
    }

    public sealed class OperationAccessRequirement : IAuthorizationRequirement;

    private sealed class OperationAccessHandler : AuthorizationHandler<OperationAccessRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OperationAccessRequirement requirement)
        {
            var operationId = (context.Resource as HttpContext)?.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
            if (operationId is null || !Table.TryGetValue(operationId, out var access))
            {
                context.Fail(new AuthorizationFailureReason(this, $"Operation '{operationId}' has no entry in the authorization table."));
                return Task.CompletedTask;
            }

            var user = context.User;
            var role = user.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value;
            if (access.Anonymous)
                context.Succeed(requirement);
            else if (access.Enrollment && role == PlatformClaims.EnrollmentRole)
                context.Succeed(requirement);
            else if (role is not null && role != PlatformClaims.EnrollmentRole && access.Roles.Contains(Http.SpecEnum.FromSpec<Role>(role)))
                context.Succeed(requirement);
            else
            {
                var allowed = access.Enrollment ? "an enrollment token" : "one of the roles " + string.Join(", ", access.Roles.Select(Http.SpecEnum.ToSpec));
                context.Fail(new AuthorizationFailureReason(this, $"Operation '{operationId}' needs {allowed}."));
            }

            return Task.CompletedTask;
        }
    }
}

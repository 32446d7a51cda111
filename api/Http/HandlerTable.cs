using Platform.Api.Agents;
using Platform.Api.Audit;
using Platform.Api.Enrollment;
using Platform.Api.Fim;
using Platform.Api.HealthProbes;
using Platform.Api.Forensics;
using Platform.Api.Telemetry;
using Platform.Api.Tokens;

namespace Platform.Api.Generated;

// Which class handles each tag of openapi.yaml. The generated route tables declare these methods and
// the api must implement them: a tag added to the spec without a line here does not build (CS8795), and
// a handler class that misses one of its tag's operations does not build either (CS0534).
// Program.cs maps them.

public static partial class HealthRoutes
{
    public static partial IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app) => app.MapHealthOperations<HealthEndpoints>();
}

public static partial class TokensRoutes
{
    public static partial IEndpointRouteBuilder MapTokens(this IEndpointRouteBuilder app) => app.MapTokensOperations<TokenEndpoints>();
}

public static partial class EnrollmentRoutes
{
    public static partial IEndpointRouteBuilder MapEnrollment(this IEndpointRouteBuilder app) => app.MapEnrollmentOperations<EnrollmentEndpoints>();
}

public static partial class AgentsRoutes
{
    public static partial IEndpointRouteBuilder MapAgents(this IEndpointRouteBuilder app) => app.MapAgentsOperations<AgentEndpoints>();
}

public static partial class AuditRoutes
{
    public static partial IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app) => app.MapAuditOperations<AuditEndpoints>();
}

public static partial class FimRulesRoutes
{
    public static partial IEndpointRouteBuilder MapFimRules(this IEndpointRouteBuilder app) => app.MapFimRulesOperations<FimRuleEndpoints>();
}

public static partial class FimUnlocksRoutes
{
    public static partial IEndpointRouteBuilder MapFimUnlocks(this IEndpointRouteBuilder app) => app.MapFimUnlocksOperations<FimUnlockEndpoints>();
}

public static partial class FimPolicyRoutes
{
    public static partial IEndpointRouteBuilder MapFimPolicy(this IEndpointRouteBuilder app) => app.MapFimPolicyOperations<FimPolicyEndpoints>();
}

public static partial class FimAlertsRoutes
{
    public static partial IEndpointRouteBuilder MapFimAlerts(this IEndpointRouteBuilder app) => app.MapFimAlertsOperations<FimAlertEndpoints>();
}

public static partial class ComplianceRoutes
{
    public static partial IEndpointRouteBuilder MapCompliance(this IEndpointRouteBuilder app) => app.MapComplianceOperations<ComplianceEndpoints>();
}

public static partial class TelemetryRoutes
{
    public static partial IEndpointRouteBuilder MapTelemetry(this IEndpointRouteBuilder app) => app.MapTelemetryOperations<TelemetryEndpoints>();
}

public static partial class ForensicsRoutes
{
    public static partial IEndpointRouteBuilder MapForensics(this IEndpointRouteBuilder app) => app.MapForensicsOperations<ForensicEndpoints>();
}

public static partial class IncidentsRoutes
{
    public static partial IEndpointRouteBuilder MapIncidents(this IEndpointRouteBuilder app) => app.MapIncidentsOperations<Incidents.IncidentEndpoints>();
}

public static partial class WebhooksRoutes
{
    public static partial IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app) => app.MapWebhooksOperations<Webhooks.WebhookEndpoints>();
}

using Platform.Api.Agents;
using Platform.Api.Audit;
using Platform.Api.WebConsole;
using Platform.Api.Docs;
using Platform.Api.Enrollment;
using Platform.Api.Fim;
using Platform.Api.Generated;
using Platform.Api.HealthProbes;
using Platform.Api.Hosting;
using Platform.Api.Incidents;
using Platform.Api.Observability;
using Platform.Api.Telemetry;
using Platform.Api.Tokens;
using Platform.Api.Webhooks;

var builder = WebApplication.CreateBuilder(args);

builder.WebHost.UsePlatformRequestLimits(builder.Configuration);   // body size (413), from Platform:Limits
builder.AddPlatformConsole();                                      // Incident Explorer's files, from the build output or a publish
builder.Logging.AddPlatformLogging();                              // one request line each; no URLs, secrets or stack traces of client errors
ValidationFilter.UseJsonNames();                                   // field errors named as in the JSON

builder.Services
    .AddPlatformStorage(builder.Configuration)          // SQLite (default) or PostgreSQL; migrations at start-up
    .AddPlatformJson()                                  // camelCase; unknown fields and missing required ones are 400
    .AddPlatformProblems()                              // RFC 9457 for every error, in every environment
    .AddRequestValidation()                             // each request type's FluentValidation validator, looked up once
    .AddPlatformAuth()                                  // bearer tokens, the authorization table
    .AddPlatformRateLimiting()                          // per token, 429 + Retry-After
    .AddIngestClock(builder.Configuration)              // reported times more than Platform:Ingest:MaxClockSkew ahead are 400
    .AddRequestDecompression()
    .AddPlatformForwardedHeaders()                      // X-Forwarded-For/-Proto from Platform:ForwardedHeaders:KnownProxies only (none by default)
    .AddPlatformObservability(builder.Configuration);   // metrics and traces; exported (Prometheus on its own port, OTLP) only when configured

builder.Services
    .AddHealthFeature()
    .AddTokensFeature()
    .AddEnrollmentFeature()
    .AddAgentsFeature()
    .AddAuditFeature()
    .AddFimFeature()
    .AddTelemetryFeature()
    .AddIncidentsFeature()
    .AddWebhooksFeature();

var app = builder.Build();

// Before anything is made (database, schema, the first admin token, which is shown once): settings, listen addresses,
// data directory and store, each mistake one line on stderr and exit code 2.
if (!await app.PassesStartupChecksAsync())
    return StartupChecks.ExitCode;

app.UsePlatformForwardedHeaders();                      // first: rate limits per address see the client, not the proxy
app.UseRequestLog();                                    // method, route, status, duration, token id: one line a request
app.UseIngestRefusals();                                // ingest answered 4xx/429 counted (docs/observability.md); outside the exception handler
app.UsePlatformProblems();
app.UsePlatformRequestDecompression();                  // gzip/br/deflate bodies (others 415, corrupt 400); the body limit applies after decompression
app.UseAuthentication();
app.UsePlatformRateLimiting();                          // after authentication: the budget is per token
app.UseAuthorization();
app.UseYamlBodies();                                    // rule sets may be sent as YAML (per openapi.yaml)
app.UseSpecRequestBodies();                             // every body checked against its operation's schema in openapi.yaml (400 naming fields)
app.MapPlatformDocs();                                  // the contract: /openapi.yaml, /openapi.json, Swagger UI at /swagger
app.MapPlatformConsole();                               // Incident Explorer at /console (and / goes there), with a strict CSP

// Every operation of openapi.yaml, routed by the generated tables to the handlers in Http/HandlerTable.cs;
// who may call what is in Auth/OperationAccess.cs.
var api = app.MapGroup("")
    .RequireAuthorization(OperationAccess.PolicyName)
    .AddValidationFilter()                              // FluentValidation rules, on the endpoints whose parameters have one
    .AcceptYamlBodies();
api.MapHealth();
api.MapTokens();
api.MapEnrollment();
api.MapAgents();
api.MapAudit();
api.MapFimRules();
api.MapFimUnlocks();                                    // time-boxed, audited lifting of a prevent rule
api.MapFimPolicy();
api.MapFimAlerts();
api.MapCompliance();
api.MapTelemetry();
api.MapForensics();
api.MapIncidents();
api.MapWebhooks();

await app.Services.PrepareStorageAsync();
return await app.RunPlatformAsync();                    // a port taken since the checks still ends in one line

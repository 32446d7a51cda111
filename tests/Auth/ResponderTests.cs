using System.Net;
using Platform.Api.Auth;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Auth;

/// <summary>
/// The least privilege a SOAR integration or an on-call responder needs: the whole incident lifecycle and
/// the evidence, and nothing that changes what is watched or who may call.
/// </summary>
public abstract class ResponderTests(PlatformApi api)
{
    private static IncidentStatusChange To(IncidentStatus status, IncidentResolution? resolution = null, string? reason = null) =>
        new() { Status = status, Resolution = resolution, Reason = reason };

    [SkippableFact]
    public async Task A_responder_runs_the_whole_incident_lifecycle_and_reads_the_evidence()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], new ContainerRef { Id = "5e5e5e5e5e01" }, "/bin/sh"));
        await s.PushAsync(s.Start(T0.AddSeconds(1), 4240, 4101, "sh", "java", ["sh"], new ContainerRef { Id = "5e5e5e5e5e02" }, "/bin/sh"));
        var incidents = await s.IncidentsAsync();
        Assert.Equal(2, incidents.Count);
        var (responder, token) = await api.ClientWithRole(Role.Responder, "soar");

        var incident = await responder.GetIncidentAsync(incidents[0].Id);
        await responder.ListIncidentFindingsAsync(incident.Id);
        await responder.GetIncidentRiskAsync(incident.Id);
        var acknowledged = await responder.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged), incident.Id, $"\"{incident.Version}\"");
        Assert.Equal(IncidentStatus.Acknowledged, acknowledged.Status);
        var assigned = await responder.AssignIncidentAsync(new IncidentAssignment { Assignee = "oncall@example.com" }, incident.Id);
        Assert.Equal("oncall@example.com", assigned.Assignee);
        await responder.AddIncidentNoteAsync(new IncidentNoteSpec { Text = "Container isolated by the playbook." }, incident.Id);
        Assert.Single((await responder.ListIncidentNotesAsync(incident.Id)).Items);
        var resolved = await responder.ChangeIncidentStatusAsync(To(IncidentStatus.Resolved, IncidentResolution.TruePositive, "Struts2 RCE"), incident.Id);
        Assert.Equal(IncidentStatus.Resolved, resolved.Status);
        Assert.Equal(IncidentStatus.Archived, (await responder.ChangeIncidentStatusAsync(To(IncidentStatus.Archived), incident.Id)).Status);
        Assert.Equal(IncidentStatus.Open, (await responder.ChangeIncidentStatusAsync(To(IncidentStatus.Open, reason: "Seen again."), incident.Id)).Status);
        var bulk = await responder.ChangeIncidentsInBulkAsync(new IncidentBulkChange
        {
            Filter = new IncidentFilter { AgentId = s.AgentId, Status = [IncidentStatus.Open] },
            Change = To(IncidentStatus.Acknowledged),
        });
        Assert.Equal(2, bulk.Changed);

        // The evidence: the forensic view and the incident's bundle.
        using var http = api.Http(token.Secret);
        using var view = await http.GetAsync($"/api/v1/agents/{s.AgentId}/forensics/recent");
        Assert.Equal(HttpStatusCode.OK, view.StatusCode);
        using var bundle = await http.GetAsync($"/api/v1/incidents/{incident.Id}/bundle");
        Assert.True(bundle.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted, $"bundle download: {(int)bundle.StatusCode}");

        // Every change names the responder's token.
        var audit = await api.Admin().ListAuditEntriesAsync(limit: 50, targetType: "incident", targetId: incident.Id);
        Assert.Contains(audit.Items, a => a.Action == "incident.reopen" && a.ActorTokenId == token.Token.Id && a.ActorRole == "responder");
    }

    [SkippableFact]
    public async Task A_responder_acknowledges_fim_alerts()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("resp")));
        var (agent, enrolled) = await api.EnrolledAgent("resp-fim", new Dictionary<string, string> { ["role"] = "app" });
        await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts = [new FimAlertReport { Id = "r-1", Time = api.Time.GetUtcNow(), RuleId = rule.Id, RuleVersion = 1, Path = rule.Paths.First().Path, Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 1, Name = "vi" } }],
        }, enrolled.Agent.Id);
        var (responder, _) = await api.ClientWithRole(Role.Responder);

        var alert = (await responder.ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Single();
        Assert.NotNull((await responder.AcknowledgeFimAlertAsync(alert.Id)).AcknowledgedAt);
    }

    /// <summary>
    /// Every operation the table keeps from responders, called with a responder token, is 403 naming the
    /// operation: rules, tokens, enrollment, webhooks, the audit log, and what only agents call.
    /// </summary>
    [SkippableFact]
    public async Task A_responder_is_refused_every_rule_token_enrollment_and_webhook_operation()
    {
        var (_, token) = await api.ClientWithRole(Role.Responder);
        using var http = api.Http(token.Secret);
        var refused = SpecDocument.Load().Operations
            .Where(o => OperationAccess.Table[o.OperationId] is { Anonymous: false } access && !access.Roles.Contains(Role.Responder))
            .ToList();
        Assert.Contains(refused, o => o.OperationId == "deleteFimRule");
        Assert.Contains(refused, o => o.OperationId == "createWebhook");

        var wrong = new List<string>();
        foreach (var operation in refused)
        {
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method), System.Text.RegularExpressions.Regex.Replace(operation.Path, "{[^}]+}", "1"));
            if (operation.RequestSchema is not null)
                request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Forbidden || !body.Contains(operation.OperationId, StringComparison.Ordinal))
                wrong.Add($"{operation.Key} ({operation.OperationId}): {(int)response.StatusCode}");
        }

        Assert.True(wrong.Count == 0, "Not refused to a responder:\n" + string.Join("\n", wrong));
    }
}

public sealed class ResponderTestsOnSqlite(SqliteApi api) : ResponderTests(api), IClassFixture<SqliteApi>;

public sealed class ResponderTestsOnPostgres(PostgresApi api) : ResponderTests(api), IClassFixture<PostgresApi>;

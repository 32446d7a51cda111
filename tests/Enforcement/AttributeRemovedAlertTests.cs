using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Enforcement;

/// <summary>
/// An <c>attribute-removed</c> alert (root cleared the immutable or append-only attribute the agent keeps on a prevent
/// rule's file): a critical alert and a critical <c>fim-attribute-removed</c> finding in a <c>fim-tamper</c> incident,
/// whatever the rule's severity. The API decides from the rule it holds: an agent cannot raise an ordinary change, or
/// an alert rule's, to critical.
/// </summary>
public abstract class AttributeRemovedAlertTests(PlatformApi api)
{
    private async Task<(PlatformClient Agent, string AgentId, FimRule Rule)> Host(FimEffect effect = FimEffect.Prevent, FimSeverity severity = FimSeverity.Low)
    {
        var hostname = FimRules.Unique("web");
        var spec = FimRules.PrivateKey(FimRules.Unique("key"));
        (spec.Scope, spec.Effect, spec.Severity) = (new FimScope { Hostnames = [hostname] }, effect, severity);
        spec.Operations = [FimOperation.Write]; // no metadata: removing the attribute lifts every operation's protection
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        return (agent, enrolled.Agent.Id, rule);
    }

    private FimAlertReport Removed(FimRule rule, string id, FimAlertEffect effect = FimAlertEffect.AttributeRemoved, FimOperation action = FimOperation.Metadata, bool? unlocked = null) => new()
    {
        Id = id,
        Time = api.Time.GetUtcNow().AddSeconds(-1),
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = "/etc/ssl/private/server.key",
        Action = action,
        Effect = effect,
        EffectReason = "the immutable attribute was removed (FS_IOC_SETFLAGS); the agent put it back",
        Attribution = FimAttribution.Available,
        Process = new FimProcess { Pid = 4242, Name = "chattr", Executable = "/usr/bin/chattr", User = "root", Uid = 0 },
        Unlocked = unlocked,
    };

    private async Task<(Incident Incident, List<IncidentFinding> Findings)> Tamper(string agentId)
    {
        var incident = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.FimTamper])).Items);
        return (incident, (await api.Admin().ListIncidentFindingsAsync(incident.Id)).Items.ToList());
    }

    [SkippableFact]
    public async Task A_removed_attribute_is_a_critical_alert_and_a_critical_incident_under_a_low_rule()
    {
        var (agent, agentId, rule) = await Host(severity: FimSeverity.Low);

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Removed(rule, "rm-1")] }, agentId);

        var alert = Assert.Single((await api.Admin().ListFimAlertsAsync(agentId: agentId, severity: FimSeverity.Critical)).Items);
        Assert.Equal((FimAlertEffect.AttributeRemoved, FimOperation.Metadata, FimSeverity.Critical, "chattr", 0L), (alert.Effect, alert.Action, alert.Severity, alert.Process!.Name, alert.Process.Uid));
        Assert.StartsWith("protection of server.key removed by chattr (pid 4242, user root) on ", alert.Description, StringComparison.Ordinal);
        Assert.EndsWith(": the immutable attribute was removed (FS_IOC_SETFLAGS); the agent put it back", alert.Description, StringComparison.Ordinal);
        var (incident, findings) = await Tamper(agentId);
        Assert.Equal(IncidentSeverity.Critical, incident.Severity);
        Assert.Contains("T1222.002", incident.Techniques);
        var finding = Assert.Single(findings);
        Assert.Equal((DetectionRule.FimAttributeRemoved, alert.Id), (finding.Rule, Assert.Single(finding.FimAlertIds)));
    }

    [SkippableFact]
    public async Task A_removal_raises_the_incident_of_earlier_prevented_attempts_to_critical_and_a_retry_adds_nothing()
    {
        var (agent, agentId, rule) = await Host(severity: FimSeverity.High);
        var prevented = Removed(rule, "pv-1", FimAlertEffect.Prevented, FimOperation.Write);
        prevented.EffectReason = null;
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [prevented] }, agentId);
        Assert.Equal(IncidentSeverity.Medium, (await Tamper(agentId)).Incident.Severity); // prevented: one step below the rule's

        var removal = new FimAlertBatch { Alerts = [Removed(rule, "rm-2")] };
        await agent.PushFimAlertsAsync(removal, agentId);
        var result = await agent.PushFimAlertsAsync(removal, agentId); // the agent's retry after a lost answer

        Assert.Equal(1, result.Duplicates);
        var (incident, findings) = await Tamper(agentId);
        Assert.Equal((IncidentSeverity.Critical, 2), (incident.Severity, findings.Count));
        Assert.StartsWith("protection of server.key removed", incident.Summary, StringComparison.Ordinal);
        Assert.Equal(FimSeverity.High, (await api.Admin().ListFimAlertsAsync(agentId: agentId, effect: FimAlertEffect.Prevented)).Items.Single().Severity);
    }

    [SkippableFact]
    public async Task An_alert_rule_has_no_attribute_to_remove_and_the_batch_is_refused()
    {
        var (agent, agentId, rule) = await Host(FimEffect.Alert);

        var problem = await ProblemAssert.Refused(422, () => agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Removed(rule, "ar-1")] }, agentId));

        Assert.Equal(["alerts[0].effect"], problem.Errors!.Keys);
        Assert.Contains("not a 'prevent' rule", problem.Errors["alerts[0].effect"].Single(), StringComparison.Ordinal);
        Assert.Empty((await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items);
        Assert.Empty((await api.Admin().ListIncidentsAsync(agentId: agentId)).Items);
    }

    [SkippableFact]
    public async Task A_removal_that_is_not_a_metadata_change_or_claims_an_unlock_window_is_malformed()
    {
        var (agent, agentId, rule) = await Host();

        var errors = await ProblemAssert.FieldErrors(() => agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts = [Removed(rule, "mf-1", action: FimOperation.Write), Removed(rule, "mf-2", unlocked: true)],
        }, agentId));

        Assert.Equal(["alerts[0].action", "alerts[1].unlocked"], errors.Keys.Order(StringComparer.Ordinal));
        Assert.Empty((await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items);
    }

    [SkippableFact]
    public async Task Another_agent_cannot_push_a_removal_in_this_agents_name()
    {
        var (_, agentId, rule) = await Host();
        var (other, _, _) = await Host();

        await ProblemAssert.Refused(403, () => other.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Removed(rule, "fr-1")] }, agentId));

        Assert.Empty((await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items);
    }
}

public sealed class AttributeRemovedAlertTestsOnSqlite(SqliteApi api) : AttributeRemovedAlertTests(api), IClassFixture<SqliteApi>;

public sealed class AttributeRemovedAlertTestsOnPostgres(PostgresApi api) : AttributeRemovedAlertTests(api), IClassFixture<PostgresApi>;

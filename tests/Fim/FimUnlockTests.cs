using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>Time-boxed, audited unlocks of prevent rules (unlockFimRule, lockFimRule) and the alerts made in them.</summary>
public abstract class FimUnlockTests(PlatformApi api)
{
    private async Task<(FimRule Rule, PlatformClient Agent, AgentEnrolled Enrolled)> KeyRule(FimEffect effect = FimEffect.Prevent, bool enabled = true)
    {
        var host = FimRules.Unique("web");
        var spec = FimRules.PrivateKey(FimRules.Unique("key"));
        spec.Scope = new FimScope { Hostnames = [host] };
        spec.Effect = effect;
        spec.Enabled = enabled;
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent(host);
        return (rule, agent, enrolled);
    }

    private async Task<(HttpStatusCode Status, string? ETag, FimPolicy? Policy)> Policy(AgentEnrolled agent, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agent.Agent.Id}/fim-policy");
        if (ifNoneMatch is not null)
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(ifNoneMatch));
        var response = await api.Http(agent.Secret).SendAsync(request);
        var policy = response.StatusCode == HttpStatusCode.OK ? System.Text.Json.JsonSerializer.Deserialize<FimPolicy>(await response.Content.ReadAsStringAsync(), TestJson.Options) : null;
        return (response.StatusCode, response.Headers.ETag?.Tag, policy);
    }

    private async Task<IReadOnlyList<AuditEntry>> Audit(string ruleId, string action) =>
        (await api.Admin().ListAuditEntriesAsync(action: action, targetType: "fim-rule", targetId: ruleId)).Items.ToList();

    private static FimAlertReport Write(FimRule rule, string id, DateTimeOffset time, bool? unlocked) => new()
    {
        Id = id,
        Time = time,
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = "/etc/ssl/private/server.key",
        Action = FimOperation.Write,
        Effect = FimAlertEffect.Alerted,
        Attribution = FimAttribution.Available,
        Process = new FimProcess { Pid = 4242, Name = "deploy-tool", Executable = "/usr/local/bin/deploy-tool", User = "deploy", Uid = 1001 },
        Unlocked = unlocked,
    };

    private static void Near(DateTimeOffset expected, DateTimeOffset actual) =>
        Assert.True((actual - expected).Duration() < TimeSpan.FromMilliseconds(1), $"{actual:O} is not {expected:O}");

    [SkippableFact]
    public async Task An_unlock_opens_a_window_the_policy_carries_until_it_runs_out_and_the_audit_log_says_who_and_why()
    {
        var (rule, _, enrolled) = await KeyRule();
        var (operatorClient, operatorToken) = await api.ClientWithRole(Role.Operator);
        var locked = await Policy(enrolled);
        Assert.Null(Assert.Single(locked.Policy!.Rules).Unlock);

        var now = api.Time.GetUtcNow();
        var window = await operatorClient.UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 10, Reason = "CHG-4711: rotate the TLS key" }, rule.Id);

        Assert.Equal(rule.Id, window.RuleId);
        Assert.Equal(now, window.From);
        Assert.Equal(now.AddMinutes(10), window.Until);
        Assert.Equal("CHG-4711: rotate the TLS key", window.Reason);
        Assert.Equal(operatorToken.Token.Id, window.UnlockedBy);
        Assert.Equal(window.Id, (await api.Admin().GetFimRuleAsync(rule.Id)).Unlock?.Id);
        Assert.Equal(rule.Version, (await api.Admin().GetFimRuleAsync(rule.Id)).Version); // a window is no new version of the rule

        var unlocked = await Policy(enrolled, locked.ETag);
        Assert.Equal(HttpStatusCode.OK, unlocked.Status); // the window changed the agent's policy
        Assert.NotEqual(locked.ETag, unlocked.ETag);
        Near(now.AddMinutes(10), Assert.Single(unlocked.Policy!.Rules).Unlock!.Until); // PostgreSQL keeps microseconds

        var audited = Assert.Single(await Audit(rule.Id, "fim-rule.unlock"));
        Assert.Equal(operatorToken.Token.Id, audited.ActorTokenId);
        Assert.Equal("operator", audited.ActorRole);
        var after = System.Text.Json.JsonSerializer.Serialize(audited.After);
        Assert.Contains("CHG-4711: rotate the TLS key", after, StringComparison.Ordinal);
        Assert.Contains(window.Id, after, StringComparison.Ordinal);

        api.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(10));
        Assert.NotNull(Assert.Single((await Policy(enrolled)).Policy!.Rules).Unlock);
        api.Time.Advance(TimeSpan.FromTicks(10));
        var relocked = await Policy(enrolled);
        Assert.Null(Assert.Single(relocked.Policy!.Rules).Unlock);
        Assert.Equal(locked.ETag, relocked.ETag);
        Assert.Null((await api.Admin().GetFimRuleAsync(rule.Id)).Unlock);
    }

    [SkippableFact]
    public async Task Locking_ends_the_window_now_and_is_audited_and_locking_a_locked_rule_changes_nothing()
    {
        var (rule, _, enrolled) = await KeyRule();
        var (operatorClient, operatorToken) = await api.ClientWithRole(Role.Operator);
        await api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 30, Reason = "deploy 1.4.2" }, rule.Id);
        api.Time.Advance(TimeSpan.FromMinutes(2));

        await operatorClient.LockFimRuleAsync(rule.Id);

        Assert.Null(Assert.Single((await Policy(enrolled)).Policy!.Rules).Unlock);
        var audited = Assert.Single(await Audit(rule.Id, "fim-rule.lock"));
        Assert.Equal(operatorToken.Token.Id, audited.ActorTokenId);
        Assert.Contains("deploy 1.4.2", System.Text.Json.JsonSerializer.Serialize(audited.Before), StringComparison.Ordinal);

        await operatorClient.LockFimRuleAsync(rule.Id);
        Assert.Single(await Audit(rule.Id, "fim-rule.lock"));
    }

    [SkippableFact]
    public async Task A_rule_changed_to_alert_while_unlocked_carries_no_window()
    {
        var (rule, _, enrolled) = await KeyRule();
        await api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 10, Reason = "deploy" }, rule.Id);
        var spec = FimRules.PrivateKey(rule.Name);
        spec.Scope = rule.Scope;
        spec.Effect = FimEffect.Alert;

        await api.Admin().ReplaceFimRuleAsync(spec, rule.Id);

        Assert.Null(Assert.Single((await Policy(enrolled)).Policy!.Rules).Unlock);
        Assert.Null((await api.Admin().GetFimRuleAsync(rule.Id)).Unlock);
    }

    [SkippableFact]
    public async Task Bad_minutes_and_reasons_are_400_naming_the_field()
    {
        var (rule, _, _) = await KeyRule();
        foreach (var minutes in new[] { 0, -5, 1441, int.MaxValue, int.MinValue })
        {
            var errors = await ProblemAssert.FieldErrors(() => api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = minutes, Reason = "deploy" }, rule.Id));
            Assert.Contains("minutes", errors.Keys);
        }

        foreach (var reason in new[] { "", "   ", new string('r', 501) })
        {
            var errors = await ProblemAssert.FieldErrors(() => api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 10, Reason = reason }, rule.Id));
            Assert.Contains("reason", errors.Keys);
        }

        foreach (var body in new[] { """{"minutes": 10}""", """{"minutes": "ten", "reason": "x"}""", """{"minutes": 10.5, "reason": "x"}""", """{"minutes": 99999999999, "reason": "x"}""", "[]", """{"minutes": 10, "reason": "x", "until": "2099-01-01T00:00:00Z"}""" })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            var response = await api.Http(api.AdminSecret).PostAsync($"/api/v1/fim/rules/{rule.Id}/unlock", content);
            var problem = await ProblemAssert.IsProblem(response, 400);
            Assert.DoesNotContain("System.", problem.GetRawText(), StringComparison.Ordinal);
        }

        // Nothing of it opened a window or wrote to the audit log.
        Assert.Null((await api.Admin().GetFimRuleAsync(rule.Id)).Unlock);
        Assert.Empty(await Audit(rule.Id, "fim-rule.unlock"));
    }

    [SkippableFact]
    public async Task Only_an_existing_enabled_prevent_rule_can_be_unlocked()
    {
        var (alertRule, _, _) = await KeyRule(FimEffect.Alert);
        var (disabled, _, _) = await KeyRule(enabled: false);
        var request = new FimRuleUnlockRequest { Minutes = 10, Reason = "deploy" };

        var problem = await ProblemAssert.Refused(409, () => api.Admin().UnlockFimRuleAsync(request, alertRule.Id));
        Assert.Contains("prevent", problem.Detail, StringComparison.Ordinal);
        await ProblemAssert.Refused(409, () => api.Admin().UnlockFimRuleAsync(request, disabled.Id));
        await ProblemAssert.Refused(404, () => api.Admin().UnlockFimRuleAsync(request, "fim_" + new string('0', 32)));
        await ProblemAssert.Refused(404, () => api.Admin().LockFimRuleAsync("fim_" + new string('0', 32)));
        var response = await api.Http(api.AdminSecret).PostAsync("/api/v1/fim/rules/not-a-rule/unlock", new StringContent("""{"minutes": 10, "reason": "x"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)response.StatusCode);
    }

    [SkippableFact]
    public async Task Agents_analysts_and_responders_cannot_unlock_or_lock()
    {
        var (rule, agent, _) = await KeyRule();
        var request = new FimRuleUnlockRequest { Minutes = 10, Reason = "let me in" };
        foreach (var role in new[] { Role.Analyst, Role.Responder })
        {
            var (client, _) = await api.ClientWithRole(role);
            await ProblemAssert.Refused(403, () => client.UnlockFimRuleAsync(request, rule.Id));
            await ProblemAssert.Refused(403, () => client.LockFimRuleAsync(rule.Id));
        }

        // The agent the rule protects may not lift its own protection.
        await ProblemAssert.Refused(403, () => agent.UnlockFimRuleAsync(request, rule.Id));
        await ProblemAssert.Refused(401, () => api.Client(null).UnlockFimRuleAsync(request, rule.Id));
        Assert.Null((await api.Admin().GetFimRuleAsync(rule.Id)).Unlock);
    }

    [SkippableFact]
    public async Task Concurrent_unlocks_leave_one_window_open_each_audited_with_the_one_it_replaced()
    {
        var (rule, _, enrolled) = await KeyRule();
        var windows = await Task.WhenAll(Enumerable.Range(1, 6).Select(i =>
            api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = i, Reason = $"deploy {i}" }, rule.Id)));

        var open = Assert.Single((await Policy(enrolled)).Policy!.Rules).Unlock;
        Assert.NotNull(open);
        Assert.Contains(open.Id, windows.Select(w => w.Id));
        var audited = (await Audit(rule.Id, "fim-rule.unlock")).OrderBy(e => e.Time).ThenBy(e => e.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(6, audited.Count);
        // The last one audited is the one open; each one after the first names the window it ended.
        Assert.Contains(open.Id, System.Text.Json.JsonSerializer.Serialize(audited[^1].After), StringComparison.Ordinal);
        Assert.Equal(5, audited.Count(e => e.Before is not null && System.Text.Json.JsonSerializer.Serialize(e.Before) != "null"));
    }

    [SkippableFact]
    public async Task An_alert_claims_unlocked_only_inside_a_window_of_its_rule_and_then_makes_no_incident()
    {
        var (rule, agent, enrolled) = await KeyRule();
        var before = api.Time.GetUtcNow();
        var window = await api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 10, Reason = "deploy" }, rule.Id);
        api.Time.Advance(TimeSpan.FromMinutes(20));

        await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                Write(rule, "in-window", window.From.AddMinutes(5), unlocked: true),
                Write(rule, "skewed-end", window.Until.AddSeconds(30), unlocked: true), // within UnlockGraceSeconds (60)
                Write(rule, "after", window.Until.AddMinutes(5), unlocked: true),
                Write(rule, "before", before.AddMinutes(-5), unlocked: true),
                Write(rule, "plain", window.From.AddMinutes(6), unlocked: null),
            ],
        }, enrolled.Agent.Id);

        var alerts = (await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items;
        Assert.Equal(5, alerts.Count);
        var unlocked = alerts.Where(a => a.Unlocked == true).ToList();
        Assert.Equal(2, unlocked.Count);
        Assert.All(unlocked, a => Assert.Contains("unlock window", a.Description, StringComparison.Ordinal));
        Assert.All(alerts.Where(a => a.Unlocked != true), a => Assert.DoesNotContain("unlock", a.Description, StringComparison.Ordinal));

        // Only the three ordinary changes count towards the fim-tamper incident.
        var incident = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.FimTamper])).Items);
        var findings = (await api.Admin().ListIncidentFindingsAsync(incident.Id)).Items;
        Assert.Equal(3, findings.Count);
        Assert.DoesNotContain(findings.SelectMany(f => f.FimAlertIds), id => unlocked.Any(a => a.Id == id));
    }

    [SkippableFact]
    public async Task A_window_of_another_rule_does_not_make_an_alert_unlocked()
    {
        var (rule, agent, enrolled) = await KeyRule();
        var otherSpec = FimRules.PrivateKey(FimRules.Unique("other-key"));
        otherSpec.Scope = new FimScope { Hostnames = [FimRules.Unique("elsewhere")] };
        var other = await api.Admin().CreateFimRuleAsync(otherSpec);
        await api.Admin().UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 10, Reason = "deploy the other host" }, other.Id);

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Write(rule, "claim", api.Time.GetUtcNow(), unlocked: true)] }, enrolled.Agent.Id);

        Assert.Null(Assert.Single((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items).Unlocked);
        Assert.Single((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.FimTamper])).Items);
    }
}

public sealed class FimUnlockTestsOnSqlite(SqliteApi api) : FimUnlockTests(api), IClassFixture<SqliteApi>;

public sealed class FimUnlockTestsOnPostgres(PostgresApi api) : FimUnlockTests(api), IClassFixture<PostgresApi>;

using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>
/// Alerts are checked against the pushing agent's effective policy (rule version in force for it, action and path
/// watched by it), and folding never merges alerts that differ in effect, user or file state.
/// </summary>
public abstract class FimAlertPolicyTests(PlatformApi api)
{
    private async Task<(PlatformClient Agent, string AgentId, FimRule Rule, string Team)> Host(string hostname)
    {
        var team = FimRules.Unique("team");
        var spec = FimRules.AppConfig(FimRules.Unique("app"));
        spec.Scope = new FimScope { Labels = new Dictionary<string, string> { ["team"] = team } };
        spec.Paths = [new FimPath { Path = "/srv/app/application.cfg" }, new FimPath { Path = "/srv/app/conf.d", Recursive = true }];
        spec.Exclusions = new FimExclusions { Paths = ["/srv/app/conf.d/cache/**"] };
        spec.Severity = FimSeverity.High;
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent(hostname, new Dictionary<string, string> { ["team"] = team });
        return (agent, enrolled.Agent.Id, rule, team);
    }

    private static FimAlertReport Alert(string id, FimRule rule, string path, DateTimeOffset time, FimOperation action = FimOperation.Write, FimAlertEffect effect = FimAlertEffect.Alerted, string user = "deploy", int? version = null) => new()
    {
        Id = id, Time = time, RuleId = rule.Id, RuleVersion = version ?? rule.Version, Path = path, Action = action, Effect = effect,
        Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", User = user, Uid = user == "deploy" ? 1001 : 1666 },
    };

    private async Task<IDictionary<string, IReadOnlyList<string>>> Refused(PlatformClient agent, string agentId, params FimAlertReport[] alerts)
    {
        var problem = await ProblemAssert.Refused(422, () => agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = alerts }, agentId));
        Assert.Equal("https://platform.dev/problems/unprocessable", problem.Type);
        Assert.NotNull(problem.Errors);
        Assert.DoesNotContain("Exception", problem.Detail);
        return problem.Errors;
    }

    [SkippableFact]
    public async Task An_alert_under_a_rule_that_does_not_apply_to_the_agent_is_refused_and_nothing_of_its_batch_is_stored()
    {
        var (agent, agentId, own, _) = await Host("pol-01");
        var (_, _, foreign, _) = await Host("pol-02"); // another team's rule: not in pol-01's policy
        var now = api.Time.GetUtcNow();

        var errors = await Refused(agent, agentId, Alert("ok", own, "/srv/app/application.cfg", now), Alert("foreign", foreign, "/srv/app/application.cfg", now));

        Assert.Equal(["alerts[1].ruleId"], errors.Keys);
        Assert.Contains(foreign.Id, errors["alerts[1].ruleId"].Single());
        Assert.Empty((await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items);
        Assert.Empty((await api.Admin().ListIncidentsAsync(agentId: agentId)).Items);
    }

    [SkippableFact]
    public async Task Alerts_under_a_rule_or_version_that_never_existed_or_a_disabled_one_are_refused()
    {
        var (agent, agentId, rule, _) = await Host("pol-03");
        var now = api.Time.GetUtcNow();
        var invented = new FimRule { Id = "fim_" + new string('e', 32), Version = 1 };

        var errors = await Refused(agent, agentId, Alert("a", invented, "/srv/app/application.cfg", now), Alert("b", rule, "/srv/app/application.cfg", now, version: rule.Version + 1));
        Assert.Equal(["alerts[0].ruleVersion", "alerts[1].ruleVersion"], errors.Keys.Order());

        var spec = FimRules.AppConfig(rule.Name);
        (spec.Scope, spec.Paths, spec.Exclusions, spec.Enabled) = (rule.Scope, rule.Paths, rule.Exclusions, false);
        var disabled = await api.Admin().ReplaceFimRuleAsync(spec, rule.Id);
        errors = await Refused(agent, agentId, Alert("c", disabled, "/srv/app/application.cfg", now));
        Assert.Contains("disabled", errors["alerts[0].ruleVersion"].Single());
    }

    [SkippableFact]
    public async Task Alerts_on_paths_or_actions_outside_the_rule_are_refused_naming_each()
    {
        var (agent, agentId, rule, _) = await Host("pol-04");
        var now = api.Time.GetUtcNow();

        var errors = await Refused(
            agent, agentId,
            Alert("in-1", rule, "/srv/app/application.cfg", now),
            Alert("in-2", rule, "/srv/app/conf.d/deep/x.conf", now),
            Alert("out-1", rule, "/etc/shadow", now),
            Alert("out-2", rule, "/srv/app/application.cfg.bak", now),
            Alert("excluded", rule, "/srv/app/conf.d/cache/x", now),
            Alert("delete", rule, "/srv/app/application.cfg", now, action: FimOperation.Delete));

        Assert.Equal(["alerts[2].path", "alerts[3].path", "alerts[4].path", "alerts[5].action"], errors.Keys.Order());

        var stored = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("in-1", rule, "/srv/app/application.cfg", now), Alert("in-2", rule, "/srv/app/conf.d/deep/x.conf", now)] }, agentId);
        Assert.Equal(2, stored.Stored);
    }

    [SkippableFact]
    public async Task An_alert_of_a_version_the_agent_held_a_moment_ago_is_accepted_and_one_long_after_it_was_replaced_is_not()
    {
        var (agent, agentId, v1, _) = await Host("pol-05");
        var spec = FimRules.AppConfig(v1.Name);
        (spec.Scope, spec.Severity) = (v1.Scope, v1.Severity);
        spec.Paths = [new FimPath { Path = "/srv/app/other.cfg" }];
        var v2 = await api.Admin().ReplaceFimRuleAsync(spec, v1.Id);
        var replacedAt = v2.UpdatedAt;
        Assert.Equal(v1.Version + 1, v2.Version);

        // In flight: dated before the change (spooled through an outage), or just after it (the agent had not polled yet).
        var accepted = await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts = [Alert("before", v1, "/srv/app/application.cfg", replacedAt.AddMinutes(-30)), Alert("just-after", v1, "/srv/app/application.cfg", replacedAt.AddMinutes(2)), Alert("new", v2, "/srv/app/other.cfg", replacedAt.AddMinutes(2))],
        }, agentId);
        Assert.Equal(3, accepted.Received);
        var stored = (await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items;
        Assert.Equal([v1.Version, v1.Version, v2.Version], stored.Select(a => a.RuleVersion).Order());

        // The old path under the new version is outside it.
        Assert.Equal(["alerts[0].path"], (await Refused(agent, agentId, Alert("old-path", v2, "/srv/app/application.cfg", replacedAt.AddMinutes(2)))).Keys);

        // Long after: the agent has had the new version for many polls.
        api.Time.Advance(TimeSpan.FromMinutes(30));
        var errors = await Refused(agent, agentId, Alert("late", v1, "/srv/app/application.cfg", api.Time.GetUtcNow()));
        Assert.Contains("replaced", errors["alerts[0].ruleVersion"].Single());

        // A deleted rule: the same grace.
        await api.Admin().DeleteFimRuleAsync(v1.Id);
        var afterDelete = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("gone", v2, "/srv/app/other.cfg", api.Time.GetUtcNow().AddMinutes(1))] }, agentId);
        Assert.Equal(1, afterDelete.Stored);
    }

    [SkippableFact]
    public async Task A_write_that_got_through_never_folds_into_a_prevented_one_and_raises_the_incident()
    {
        var (agent, agentId, rule, _) = await Host("pol-06");
        var t0 = api.Time.GetUtcNow().AddMinutes(-1);
        t0 = t0.AddTicks(-(t0.UtcTicks % TimeSpan.TicksPerMinute)); // one fold window for all of them

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("p-1", rule, "/srv/app/application.cfg", t0, effect: FimAlertEffect.Prevented)] }, agentId);
        var prevented = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: agentId)).Items);
        Assert.Equal(IncidentSeverity.Medium, prevented.Severity);

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Alert("w-1", rule, "/srv/app/application.cfg", t0.AddSeconds(5), user: "mallory")] }, agentId);

        var alerts = (await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items;
        Assert.Equal(2, alerts.Count);
        Assert.Equal((FimAlertEffect.Prevented, "deploy", 1L), alerts.Where(a => a.Effect == FimAlertEffect.Prevented).Select(a => (a.Effect, a.Process!.User, a.Count)).Single());
        Assert.Equal((FimAlertEffect.Alerted, "mallory", 1L), alerts.Where(a => a.Effect == FimAlertEffect.Alerted).Select(a => (a.Effect, a.Process!.User, a.Count)).Single());
        var incident = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: agentId)).Items);
        Assert.Equal(IncidentSeverity.High, incident.Severity); // raised to the rule's, never left one lower
        Assert.DoesNotContain("prevented", incident.Summary); // and it says what got through
        Assert.Equal(2, incident.FindingCount);
    }

    [SkippableFact]
    public async Task Folding_keeps_users_and_file_states_apart_and_still_folds_what_is_the_same()
    {
        var (agent, agentId, rule, _) = await Host("pol-07");
        var t0 = api.Time.GetUtcNow().AddMinutes(-1);
        t0 = t0.AddTicks(-(t0.UtcTicks % TimeSpan.TicksPerMinute));
        FimAlertReport Changed(string id, string before, string after, string user = "deploy")
        {
            var alert = Alert(id, rule, "/srv/app/application.cfg", t0.AddSeconds(id.Length), user: user);
            (alert.Before, alert.After) = (new FimFileState { Sha256 = before, Size = 10 }, new FimFileState { Sha256 = after, Size = 12 });
            return alert;
        }

        var a = new string('a', 64);
        var b = new string('b', 64);
        var c = new string('c', 64);
        var result = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Changed("1", a, b), Changed("22", a, b), Changed("333", b, c), Changed("4444", a, b, user: "mallory")] }, agentId);

        Assert.Equal((3, 1), (result.Stored, result.Folded));
        var alerts = (await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items;
        Assert.Equal(
            new[] { (a, b, "deploy", 2L), (a, b, "mallory", 1L), (b, c, "deploy", 1L) },
            alerts.Select(x => (x.Before!.Sha256!, x.After!.Sha256!, x.Process!.User!, x.Count)).Order());
    }
}

public sealed class FimAlertPolicyTestsOnSqlite(SqliteApi api) : FimAlertPolicyTests(api), IClassFixture<SqliteApi>;

public sealed class FimAlertPolicyTestsOnPostgres(PostgresApi api) : FimAlertPolicyTests(api), IClassFixture<PostgresApi>;

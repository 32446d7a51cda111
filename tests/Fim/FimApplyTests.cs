using System.Net;
using System.Text;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>Rules as code: a pipeline PUTs the whole desired set, dry run first.</summary>
public abstract class FimApplyTests(PlatformApi api)
{
    private PlatformClient Pipeline => api.Admin();

    /// <summary>Applying an empty set prunes every rule: each test starts from none.</summary>
    private async Task<PlatformClient> FromNoRules()
    {
        await api.Admin().ApplyFimRuleSetAsync(new FimRuleSet { Rules = [] });
        return api.Admin();
    }

    [SkippableFact]
    public async Task Dry_run_plans_creates_updates_deletes_and_unchanged_without_changing_anything()
    {
        await FromNoRules();
        await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AppConfig(), FimRules.PrivateKey(), FimRules.AuditLogs()] });
        var before = (await Pipeline.ListFimRulesAsync()).Items;
        var changed = FimRules.AppConfig();
        changed.Severity = FimSeverity.Critical;
        var added = FimRules.AuditLogs("web-logs");

        var plan = await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [changed, FimRules.PrivateKey(), added] }, dryRun: true);

        Assert.True(plan.DryRun);
        Assert.False(plan.Applied);
        Assert.Equal((1, 1, 1, 1), (plan.Summary.Create, plan.Summary.Update, plan.Summary.Delete, plan.Summary.Unchanged));
        var byName = plan.Items.ToDictionary(i => i.Name);
        Assert.Equal(FimPlanAction.Update, byName["app-config"].Action);
        var change = Assert.Single(byName["app-config"].Changes);
        Assert.Equal(("severity", "high", "critical"), (change.Field, change.Before!.ToString(), change.After!.ToString()));
        Assert.Equal(FimPlanAction.Unchanged, byName["private-key"].Action);
        Assert.Empty(byName["private-key"].Changes);
        Assert.Equal(FimPlanAction.Delete, byName["audit-logs"].Action);
        Assert.Equal(FimPlanAction.Create, byName["web-logs"].Action);
        Assert.Null(byName["web-logs"].RuleId);
        Assert.Contains(byName["web-logs"].Changes, c => c.Field == "allowAppend" && c.After!.ToString() == "True");

        var after = (await Pipeline.ListFimRulesAsync()).Items;
        Assert.Equal(before.Select(r => (r.Id, r.Version)), after.Select(r => (r.Id, r.Version)));
    }

    [SkippableFact]
    public async Task Apply_carries_out_the_plan_and_applying_it_again_changes_nothing_and_audits_nothing()
    {
        await FromNoRules();
        var set = new FimRuleSet { Rules = [FimRules.AppConfig(), FimRules.PrivateKey()] };

        var first = await Pipeline.ApplyFimRuleSetAsync(set);
        var auditCount = (await Pipeline.ListAuditEntriesAsync(limit: 200)).Items.Count;
        var second = await Pipeline.ApplyFimRuleSetAsync(set);

        Assert.True(first.Applied);
        Assert.All(first.Items, i => Assert.StartsWith("fim_", i.RuleId));
        Assert.False(second.Applied);
        Assert.All(second.Items, i => Assert.Equal(FimPlanAction.Unchanged, i.Action));
        Assert.Equal(auditCount, (await Pipeline.ListAuditEntriesAsync(limit: 200)).Items.Count);
        var rules = (await Pipeline.ListFimRulesAsync()).Items;
        Assert.Equal(["app-config", "private-key"], rules.Select(r => r.Name));
        Assert.All(rules, r => Assert.Equal(1, r.Version));
    }

    [SkippableFact]
    public async Task Apply_prunes_rules_not_in_the_set_unless_prune_is_false()
    {
        await FromNoRules();
        await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AppConfig(), FimRules.PrivateKey()] });

        var kept = await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AuditLogs()] }, prune: false);
        Assert.Equal(["app-config", "audit-logs", "private-key"], (await Pipeline.ListFimRulesAsync()).Items.Select(r => r.Name));
        Assert.Equal(0, kept.Summary.Delete);

        var pruned = await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AuditLogs()] });
        Assert.Equal(2, pruned.Summary.Delete);
        Assert.Equal(["audit-logs"], (await Pipeline.ListFimRulesAsync()).Items.Select(r => r.Name));
    }

    [SkippableFact]
    public async Task An_invalid_rule_set_changes_nothing()
    {
        await FromNoRules();
        await Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AppConfig()] });
        var broken = FimRules.PrivateKey();
        broken.Paths = [new FimPath { Path = "relative/key.pem" }];

        var errors = await ProblemAssert.FieldErrors(() => Pipeline.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [FimRules.AuditLogs(), broken, FimRules.AuditLogs()] }));

        Assert.Contains("rules[1].paths[0].path", errors.Keys);
        Assert.Contains(errors["rules"], m => m.Contains("'audit-logs'", StringComparison.Ordinal));
        Assert.Equal(["app-config"], (await Pipeline.ListFimRulesAsync()).Items.Select(r => r.Name));
    }

    [SkippableFact]
    public async Task A_rule_set_may_be_sent_as_yaml()
    {
        await FromNoRules();
        const string yaml = """
            # FIM rules, kept in git next to the deployment.
            rules:
              - name: app-config
                severity: high
                scope:
                  labels: {role: app}
                paths:
                  - path: /srv/app/application.cfg
                operations: [read, write]
                effect: alert
                complianceTags: ["pci-dss:11.5"]
              - name: audit-logs
                severity: medium
                scope:
                  hostnames: ["*"]
                paths:
                  - path: /var/log/audit
                    recursive: true
                operations: [write, delete]
                effect: alert
                allowAppend: true
            """;
        var http = api.Http(api.AdminSecret);

        var dryRun = await http.PutAsync("/api/v1/fim/ruleset?dryRun=true", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.OK, dryRun.StatusCode);
        Assert.Contains("\"create\":2", await dryRun.Content.ReadAsStringAsync());

        var applied = await http.PutAsync("/api/v1/fim/ruleset", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        var auditLogs = (await Pipeline.ListFimRulesAsync()).Items.Single(r => r.Name == "audit-logs");
        Assert.True(auditLogs.AllowAppend);
        Assert.True(auditLogs.Paths.Single().Recursive);
    }

    [SkippableFact]
    public async Task Broken_yaml_is_400_with_the_line()
    {
        await FromNoRules();
        var response = await api.Http(api.AdminSecret).PutAsync("/api/v1/fim/ruleset?dryRun=true", new StringContent("rules:\n  - name: [unclosed\n", Encoding.UTF8, "application/yaml"));

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Contains("line", problem.GetProperty("detail").GetString());
    }
}

public sealed class FimApplyTestsOnSqlite(SqliteApi api) : FimApplyTests(api), IClassFixture<SqliteApi>;

public sealed class FimApplyTestsOnPostgres(PostgresApi api) : FimApplyTests(api), IClassFixture<PostgresApi>;

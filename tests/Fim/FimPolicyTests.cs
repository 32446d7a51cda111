using System.Net;
using System.Net.Http.Headers;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

public abstract class FimPolicyTests(PlatformApi api)
{
    /// <summary>Starts from no rules (applying an empty set prunes them all) and applies these.</summary>
    private async Task Rules(params FimRuleSpec[] rules) => await api.Admin().ApplyFimRuleSetAsync(new FimRuleSet { Rules = rules });

    private static FimRuleSpec Rule(string name, FimScope scope, bool enabled = true) => new()
    {
        Name = name,
        Enabled = enabled,
        Severity = FimSeverity.High,
        Scope = scope,
        Paths = [new FimPath { Path = "/etc/" + name }],
        Operations = [FimOperation.Write],
        Effect = FimEffect.Alert,
    };

    private async Task<(HttpStatusCode Status, string? ETag, FimPolicy? Policy)> Fetch(AgentEnrolled agent, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{agent.Agent.Id}/fim-policy");
        if (ifNoneMatch is not null)
            request.Headers.IfNoneMatch.Add(EntityTagHeaderValue.Parse(ifNoneMatch));
        var response = await api.Http(agent.Secret).SendAsync(request);
        var policy = response.StatusCode == HttpStatusCode.OK ? System.Text.Json.JsonSerializer.Deserialize<FimPolicy>(await response.Content.ReadAsStringAsync(), TestJson.Options) : null;
        return (response.StatusCode, response.Headers.ETag?.Tag, policy);
    }

    [SkippableFact]
    public async Task Rules_apply_by_host_name_glob_and_by_labels_and_an_empty_scope_applies_nowhere()
    {
        await Rules(
            Rule("web-hosts", new FimScope { Hostnames = ["web-*"] }),
            Rule("app-role", new FimScope { Labels = new Dictionary<string, string> { ["role"] = "app" } }),
            Rule("web-and-app", new FimScope { Hostnames = ["WEB-0?"], Labels = new Dictionary<string, string> { ["role"] = "app" } }),
            Rule("nowhere", new FimScope()),
            Rule("disabled", new FimScope { Hostnames = ["*"] }, enabled: false));
        var (webAgent, web) = await api.EnrolledAgent("web-01", new Dictionary<string, string> { ["role"] = "app" });
        var (_, db) = await api.EnrolledAgent("db-01", new Dictionary<string, string> { ["role"] = "db" });
        var (_, web2) = await api.EnrolledAgent("web-10", new Dictionary<string, string> { ["role"] = "cache" });

        var webPolicy = await webAgent.GetEffectiveFimPolicyAsync(web.Agent.Id);

        Assert.Equal(["app-role", "web-and-app", "web-hosts"], webPolicy.Rules.Select(r => r.Name));
        Assert.Empty((await Fetch(db)).Policy!.Rules);
        Assert.Equal(["web-hosts"], (await Fetch(web2)).Policy!.Rules.Select(r => r.Name));
    }

    [SkippableFact]
    public async Task Unchanged_policy_is_304_for_the_etag_the_agent_has()
    {
        await Rules(Rule("etag-rule", new FimScope { Hostnames = ["*"] }));
        var (_, agent) = await api.EnrolledAgent("etag-01");

        var first = await Fetch(agent);
        var again = await Fetch(agent, first.ETag);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.NotNull(first.ETag);
        Assert.Equal(HttpStatusCode.NotModified, again.Status);
        Assert.Equal(first.ETag, again.ETag);
        Assert.Equal(first.ETag, (await Fetch(agent)).ETag);
    }

    [SkippableFact]
    public async Task A_rule_change_changes_the_etag_of_exactly_the_agents_it_applies_to()
    {
        var webRule = Rule("web-only", new FimScope { Hostnames = ["web-*"] });
        await Rules(webRule, Rule("everyone", new FimScope { Hostnames = ["*"] }));
        var (_, web) = await api.EnrolledAgent("web-21");
        var (_, db) = await api.EnrolledAgent("db-21");
        var webBefore = (await Fetch(web)).ETag;
        var dbBefore = (await Fetch(db)).ETag;

        webRule.Severity = FimSeverity.Critical;
        await Rules(webRule, Rule("everyone", new FimScope { Hostnames = ["*"] }));

        var webAfter = await Fetch(web, webBefore);
        var dbAfter = await Fetch(db, dbBefore);
        Assert.Equal(HttpStatusCode.OK, webAfter.Status);
        Assert.NotEqual(webBefore, webAfter.ETag);
        Assert.Equal(FimSeverity.Critical, webAfter.Policy!.Rules.Single(r => r.Name == "web-only").Severity);
        Assert.Equal(HttpStatusCode.NotModified, dbAfter.Status);
        Assert.Equal(dbBefore, dbAfter.ETag);
    }

    [SkippableFact]
    public async Task Relabelling_an_agent_changes_its_policy()
    {
        await Rules(Rule("app-only", new FimScope { Labels = new Dictionary<string, string> { ["role"] = "app" } }));
        var (_, agent) = await api.EnrolledAgent("relabel-01");
        var before = await Fetch(agent);
        Assert.Empty(before.Policy!.Rules);

        await api.Admin().ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string> { ["role"] = "app" } }, agent.Agent.Id);

        var after = await Fetch(agent, before.ETag);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.Equal(["app-only"], after.Policy!.Rules.Select(r => r.Name));
    }

    [SkippableFact]
    public async Task An_agent_reads_only_its_own_policy()
    {
        await Rules(Rule("own", new FimScope { Hostnames = ["*"] }));
        var (agentA, a) = await api.EnrolledAgent("a-01");
        var (_, b) = await api.EnrolledAgent("b-01");

        await agentA.GetEffectiveFimPolicyAsync(a.Agent.Id);
        await ProblemAssert.Refused(403, () => agentA.GetEffectiveFimPolicyAsync(b.Agent.Id));
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);
        Assert.Single((await analyst.GetEffectiveFimPolicyAsync(b.Agent.Id)).Rules);
        await ProblemAssert.Refused(404, () => analyst.GetEffectiveFimPolicyAsync("agt_00000000000000000000000000000000"));
    }
}

public sealed class FimPolicyTestsOnSqlite(SqliteApi api) : FimPolicyTests(api), IClassFixture<SqliteApi>;

public sealed class FimPolicyTestsOnPostgres(PostgresApi api) : FimPolicyTests(api), IClassFixture<PostgresApi>;

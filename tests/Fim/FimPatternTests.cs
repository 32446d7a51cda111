using System.Net;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>
/// Patterns users give (host name globs, path globs, the pathGlob query): a glob that cannot compile is a 400 naming
/// its field, the spec's lengths hold, and a stored rule that cannot compile stops nothing but itself.
/// </summary>
public abstract class FimPatternTests(PlatformApi api)
{
    private static FimRuleSpec Rule(string name, string hostGlob, string path = "/etc/app.conf") => new()
    {
        Name = name,
        Severity = FimSeverity.High,
        Scope = new FimScope { Hostnames = [hostGlob] },
        Paths = [new FimPath { Path = path }],
        Operations = [FimOperation.Write],
        Effect = FimEffect.Alert,
        ComplianceTags = ["pci-dss:11.5"],
    };

    [SkippableTheory]
    [InlineData("[]")]
    [InlineData("[z-a]")]
    [InlineData("web-[!]")]
    public async Task A_host_glob_that_cannot_compile_is_400_naming_the_field(string glob)
    {
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateFimRuleAsync(Rule(FimRules.Unique("host"), glob)));

        Assert.Equal(["scope.hostnames[0]"], errors.Keys);
    }

    [SkippableTheory]
    [InlineData("/srv/[]")]
    [InlineData("/srv/[z-a].cfg")]
    public async Task A_path_glob_that_cannot_compile_is_400_naming_the_field_in_paths_and_exclusions(string glob)
    {
        var spec = Rule(FimRules.Unique("path"), "*", glob);
        spec.Exclusions = new FimExclusions { Paths = [glob] };

        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateFimRuleAsync(spec));

        Assert.Equal(["exclusions.paths[0]", "paths[0].path"], errors.Keys.Order(StringComparer.Ordinal));
    }

    [SkippableFact]
    public async Task A_host_glob_longer_than_a_host_name_is_400_and_not_echoed_whole()
    {
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateFimRuleAsync(Rule(FimRules.Unique("long"), new string('a', 70_000))));

        var message = Assert.Single(errors["scope.hostnames[0]"]);
        Assert.Contains("253", message);
        Assert.True(message.Length < 500, message);
        // At the limit it is fine.
        await api.Admin().CreateFimRuleAsync(Rule(FimRules.Unique("at-limit"), new string('a', 253)));
    }

    [SkippableFact]
    public async Task A_compliance_tag_longer_than_the_spec_allows_is_400()
    {
        var spec = Rule(FimRules.Unique("tag"), "*");
        spec.ComplianceTags = ["pci-dss:" + new string('1', 60)];

        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateFimRuleAsync(spec));

        Assert.Contains("complianceTags[0]", errors.Keys);
    }

    [SkippableTheory]
    [InlineData("/[]")]
    [InlineData("/[z-a]")]
    [InlineData("/srv/[!]")]
    public async Task A_path_glob_query_that_cannot_compile_is_400_naming_the_parameter(string glob)
    {
        foreach (var operation in new[] { "/api/v1/fim/alerts?pathGlob=", "/api/v1/fim/alerts/export?pathGlob=" })
        {
            using var response = await api.Http(api.AdminSecret).GetAsync(operation + Uri.EscapeDataString(glob));
            var problem = await ProblemAssert.IsProblem(response, 400);
            Assert.Contains("pathGlob", problem.GetProperty("detail").GetString());
        }
    }

    [SkippableFact]
    public async Task A_path_glob_query_pages_through_matches_beyond_what_one_read_holds()
    {
        // More alerts than the store reads a statement for a glob (2,000): matches on both sides of the boundary.
        var hostname = "paging-" + Guid.NewGuid().ToString("N")[..8];
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.Everywhere(FimRules.Unique("paging"), hostname));
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        var expected = new List<string>();
        foreach (var chunk in Enumerable.Range(0, 2300).Chunk(500))
        {
            await agent.PushFimAlertsAsync(new FimAlertBatch
            {
                Alerts = chunk.Select(i => new FimAlertReport
                {
                    Id = $"p{i}", Time = t0.AddMilliseconds(i), RuleId = rule.Id, RuleVersion = rule.Version, Path = i % 250 == 7 ? $"/srv/p/{i}.cfg" : $"/srv/p/{i}.log",
                    Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Unavailable, AttributionReason = "test",
                }).ToList(),
            }, enrolled.Agent.Id);
            expected.AddRange(chunk.Where(i => i % 250 == 7).Select(i => $"/srv/p/{i}.cfg"));
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListFimAlertsAsync(limit: 3, cursor: cursor, agentId: enrolled.Agent.Id, pathGlob: "/srv/p/*.cfg");
            Assert.True(page.Items.Count <= 3);
            seen.AddRange(page.Items.Select(a => a.Path));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [SkippableFact]
    public async Task Null_items_in_a_rules_lists_are_400_naming_each()
    {
        var http = api.Http(api.AdminSecret);
        // One null item a request: each is refused as it is read, naming it.
        var cases = new Dictionary<string, string>
        {
            ["scope.hostnames[0]"] = """{"name":"nulls","severity":"high","scope":{"hostnames":[null]},"paths":[{"path":"/srv"}],"operations":["write"],"effect":"alert"}""",
            ["paths[0]"] = """{"name":"nulls","severity":"high","paths":[null],"operations":["write"],"effect":"alert"}""",
            ["exclusions.paths[0]"] = """{"name":"nulls","severity":"high","paths":[{"path":"/srv"}],"operations":["write"],"effect":"alert","exclusions":{"paths":[null]}}""",
            ["exclusions.processes[0]"] = """{"name":"nulls","severity":"high","paths":[{"path":"/srv"}],"operations":["write"],"effect":"alert","exclusions":{"processes":[null]}}""",
            ["complianceTags[0]"] = """{"name":"nulls","severity":"high","paths":[{"path":"/srv"}],"operations":["write"],"effect":"alert","complianceTags":[null]}""",
        };
        foreach (var (field, rule) in cases)
        {
            var response = await http.PostAsync("/api/v1/fim/rules", new StringContent(rule, System.Text.Encoding.UTF8, "application/json"));
            var errors = (await ProblemAssert.IsProblem(response, 400)).GetProperty("errors");
            Assert.True(errors.TryGetProperty(field, out _) || errors.EnumerateObject().Any(e => field.StartsWith(e.Name, StringComparison.Ordinal)), $"{field} in {errors}");
        }

        var set = await http.PutAsync("/api/v1/fim/ruleset", new StringContent("""{"rules":[null]}""", System.Text.Encoding.UTF8, "application/json"));
        var setErrors = (await ProblemAssert.IsProblem(set, 400)).GetProperty("errors");
        Assert.True(setErrors.EnumerateObject().Any(e => "rules[0]".StartsWith(e.Name, StringComparison.Ordinal)), setErrors.ToString());
    }

    [SkippableFact]
    public async Task A_stored_rule_whose_glob_cannot_compile_leaves_the_other_rules_and_agents_working()
    {
        var marker = FimRules.Unique("broken");
        var good = await api.Admin().CreateFimRuleAsync(Rule(FimRules.Unique("good"), "pattern-*"));
        await api.Admin().CreateFimRuleAsync(Rule(marker, marker));
        // As an older version or a hand edit might have left it: a host glob that does not compile.
        await using (var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None))
        {
            await write.Db.ExecuteAsync("update fim_rule set spec_json = replace(spec_json, @marker, '[]') where name = @marker", new { marker }, write.Transaction);
            await write.Db.ExecuteAsync("update fim_policy_state set generation = generation + 1 where id = 1", transaction: write.Transaction);
            await write.CommitAsync(CancellationToken.None);
        }

        var (agent, enrolled) = await api.EnrolledAgent("pattern-01");

        var policy = await agent.GetEffectiveFimPolicyAsync(enrolled.Agent.Id);
        Assert.Contains(good.Id, policy.Rules.Select(r => r.Id));
        Assert.DoesNotContain(marker, policy.Rules.Select(r => r.Name));
        var pushed = await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = "pattern-1", Time = DateTimeOffset.UtcNow, RuleId = good.Id, RuleVersion = good.Version, Path = "/etc/app.conf",
                    Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Unavailable, AttributionReason = "test",
                },
            ],
        }, enrolled.Agent.Id);
        Assert.Equal(1, pushed.Stored);
        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);
        Assert.Equal([good.Id], report.Rules.Select(r => r.RuleId));
        using var csv = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{enrolled.Agent.Id}/pci-report?format=csv");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
    }
}

public sealed class FimPatternTestsOnSqlite(SqliteApi api) : FimPatternTests(api), IClassFixture<SqliteApi>;

public sealed class FimPatternTestsOnPostgres(PostgresApi api) : FimPatternTests(api), IClassFixture<PostgresApi>;

using System.Net;
using System.Net.Http.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

public abstract class FimRuleTests(PlatformApi api)
{
    private async Task<PlatformClient> Operator() => (await api.ClientWithRole(Role.Operator)).Client;

    [SkippableFact]
    public async Task Operator_creates_reads_and_lists_a_rule()
    {
        var client = await Operator();
        var spec = FimRules.AppConfig(FimRules.Unique("app-config"));

        var created = await client.CreateFimRuleAsync(spec);

        Assert.StartsWith("fim_", created.Id);
        Assert.Equal(1, created.Version);
        Assert.True(created.Enabled);
        Assert.Equal([FimOperation.Read, FimOperation.Write], created.Operations);
        Assert.NotNull(created.CreatedBy);
        var read = await client.GetFimRuleAsync(created.Id);
        Assert.Equal(spec.Name, read.Name);
        Assert.Equal("role", read.Scope.Labels!.Single().Key);
        var tagged = await client.ListFimRulesAsync(limit: 200, complianceTag: "pci-dss:11.5");
        Assert.Contains(tagged.Items, r => r.Id == created.Id);
        var untagged = await client.ListFimRulesAsync(limit: 200, complianceTag: "pci-dss:10.5.5");
        Assert.DoesNotContain(untagged.Items, r => r.Id == created.Id);
    }

    [SkippableFact]
    public async Task Invalid_rules_get_clear_field_errors()
    {
        var client = await Operator();
        var spec = FimRules.AppConfig(FimRules.Unique("bad"));
        spec.Paths = [new FimPath { Path = "srv/app.cfg" }, new FimPath { Path = "/srv/[app.cfg" }, new FimPath { Path = "/srv/../etc" }];
        spec.Operations = [];
        spec.Scope = new FimScope { Hostnames = ["web 01"] };
        spec.ComplianceTags = ["PCI"];

        var errors = await ProblemAssert.FieldErrors(() => client.CreateFimRuleAsync(spec));

        Assert.Contains("absolute", errors["paths[0].path"].Single());
        Assert.Contains("'['", errors["paths[1].path"].Single());
        Assert.Contains("..", errors["paths[2].path"].Single());
        Assert.Contains("at least one operation", errors["operations"].Single());
        Assert.Contains("scope.hostnames[0]", errors.Keys);
        Assert.Contains("complianceTags[0]", errors.Keys);
    }

    [SkippableFact]
    public async Task Unknown_operation_is_400_naming_the_field()
    {
        var http = api.Http(api.AdminSecret);
        var response = await http.PostAsJsonAsync("/api/v1/fim/rules", new
        {
            name = FimRules.Unique("unknown-op"),
            severity = "high",
            scope = new { hostnames = new[] { "*" } },
            paths = new[] { new { path = "/etc/passwd" } },
            operations = new[] { "read", "execute" },
            effect = "alert",
        });

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("operations[1]", out _), problem.ToString());
    }

    [SkippableFact]
    public async Task Allow_append_needs_write()
    {
        var spec = FimRules.AppConfig(FimRules.Unique("append"));
        spec.Operations = [FimOperation.Read];
        spec.AllowAppend = true;

        var errors = await ProblemAssert.FieldErrors(async () => await (await Operator()).CreateFimRuleAsync(spec));

        Assert.Contains("allowAppend", errors.Keys);
    }

    [SkippableFact]
    public async Task Duplicate_name_is_409()
    {
        var client = await Operator();
        var name = FimRules.Unique("dup");
        var first = await client.CreateFimRuleAsync(FimRules.AppConfig(name));

        var problem = await ProblemAssert.Refused(409, () => client.CreateFimRuleAsync(FimRules.PrivateKey(name)));
        Assert.Contains(first.Id, problem.Detail);

        var other = await client.CreateFimRuleAsync(FimRules.PrivateKey(FimRules.Unique("other")));
        await ProblemAssert.Refused(409, () => client.ReplaceFimRuleAsync(FimRules.PrivateKey(name), other.Id));
    }

    [SkippableFact]
    public async Task Replace_needs_the_current_etag_and_a_stale_one_gets_412()
    {
        var http = api.Http(api.AdminSecret);
        var name = FimRules.Unique("etag");
        var created = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(name));
        var changed = FimRules.AppConfig(name);
        changed.Severity = FimSeverity.Critical;

        using var first = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/fim/rules/{created.Id}") { Content = TestJson.Content(changed) };
        first.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        var replaced = await http.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("\"2\"", replaced.Headers.ETag?.Tag);

        using var stale = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/fim/rules/{created.Id}") { Content = TestJson.Content(FimRules.AppConfig(name)) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        await ProblemAssert.IsProblem(await http.SendAsync(stale), 412);

        using var staleDelete = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/fim/rules/{created.Id}");
        staleDelete.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        await ProblemAssert.IsProblem(await http.SendAsync(staleDelete), 412);
        Assert.Equal(FimSeverity.Critical, (await api.Admin().GetFimRuleAsync(created.Id)).Severity);
    }

    [SkippableFact]
    public async Task Replacing_with_the_same_rule_creates_no_version()
    {
        var client = await Operator();
        var spec = FimRules.AppConfig(FimRules.Unique("same"));
        var created = await client.CreateFimRuleAsync(spec);

        // Same rule, written differently: other order of operations, empty exclusions.
        spec.Operations = [FimOperation.Write, FimOperation.Read];
        spec.Exclusions = new FimExclusions();
        var replaced = await client.ReplaceFimRuleAsync(spec, created.Id);

        Assert.Equal(1, replaced.Version);
        Assert.Single((await client.ListFimRuleVersionsAsync(created.Id)).Items);
    }

    [SkippableFact]
    public async Task History_keeps_every_version_with_diffs_and_an_earlier_one_can_be_restored()
    {
        var client = await Operator();
        var name = FimRules.Unique("history");
        var created = await client.CreateFimRuleAsync(FimRules.AppConfig(name));
        var v2 = FimRules.AppConfig(name);
        v2.Severity = FimSeverity.Critical;
        v2.Paths = [new FimPath { Path = "/srv/app/application.cfg" }, new FimPath { Path = "/srv/app/secrets.yaml" }];
        await client.ReplaceFimRuleAsync(v2, created.Id);

        var restored = await client.RestoreFimRuleVersionAsync(created.Id, 1);

        Assert.Equal(3, restored.Version);
        Assert.Equal(FimSeverity.High, restored.Severity);
        var history = (await client.ListFimRuleVersionsAsync(created.Id)).Items;
        Assert.Equal([3, 2, 1], history.Select(v => v.Version));
        Assert.Equal([FimRuleVersionChange.Restored, FimRuleVersionChange.Updated, FimRuleVersionChange.Created], history.Select(v => v.Change));
        Assert.Equal(["paths", "severity"], history[1].Changes.Select(c => c.Field));
        Assert.Equal("high", history[1].Changes.Single(c => c.Field == "severity").Before!.ToString());
        Assert.Equal("critical", history[1].Changes.Single(c => c.Field == "severity").After!.ToString());
        Assert.Contains(history[2].Changes, c => c.Field == "name" && c.Before is null);
    }

    [SkippableFact]
    public async Task Versions_page_with_diffs_across_pages()
    {
        var client = await Operator();
        var name = FimRules.Unique("paged");
        var created = await client.CreateFimRuleAsync(FimRules.AppConfig(name));
        foreach (var severity in new[] { FimSeverity.Low, FimSeverity.Medium, FimSeverity.Critical })
        {
            var spec = FimRules.AppConfig(name);
            spec.Severity = severity;
            await client.ReplaceFimRuleAsync(spec, created.Id);
        }

        var first = await client.ListFimRuleVersionsAsync(created.Id, limit: 2);
        var second = await client.ListFimRuleVersionsAsync(created.Id, limit: 2, cursor: first.NextCursor);

        Assert.Equal([4, 3], first.Items.Select(v => v.Version));
        Assert.Equal([2, 1], second.Items.Select(v => v.Version));
        Assert.Null(second.NextCursor);
        Assert.Equal("medium", first.Items[1].Changes.Single().After!.ToString());
        Assert.Equal("low", second.Items[0].Changes.Single().After!.ToString());
    }

    [SkippableFact]
    public async Task Deleted_rule_keeps_its_history_and_can_be_restored()
    {
        var client = await Operator();
        var created = await client.CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("deleted")));

        await client.DeleteFimRuleAsync(created.Id);
        await ProblemAssert.Refused(404, () => client.GetFimRuleAsync(created.Id));
        var history = (await client.ListFimRuleVersionsAsync(created.Id)).Items;
        Assert.Equal(FimRuleVersionChange.Deleted, history[0].Change);

        var restored = await client.RestoreFimRuleVersionAsync(created.Id, 1);
        Assert.Equal(3, restored.Version);
        Assert.Equal(created.Name, (await client.GetFimRuleAsync(created.Id)).Name);
    }

    [SkippableFact]
    public async Task Rule_changes_are_audited()
    {
        var (client, token) = await api.ClientWithRole(Role.Operator);
        var name = FimRules.Unique("audited");
        var created = await client.CreateFimRuleAsync(FimRules.AppConfig(name));
        var changed = FimRules.AppConfig(name);
        changed.Enabled = false;
        await client.ReplaceFimRuleAsync(changed, created.Id);
        await client.DeleteFimRuleAsync(created.Id);

        var entries = (await api.Admin().ListAuditEntriesAsync(targetId: created.Id)).Items;

        Assert.Equal(["fim-rule.create", "fim-rule.update", "fim-rule.delete"], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal(token.Token.Id, e.ActorTokenId));
        Assert.Equal("False", entries[1].After!.AdditionalProperties["enabled"].ToString());
    }

    [SkippableFact]
    public async Task Analysts_read_rules_but_cannot_change_them()
    {
        var created = await (await Operator()).CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("read-only")));
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);

        await analyst.GetFimRuleAsync(created.Id);
        await ProblemAssert.Refused(403, () => analyst.CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("nope"))));
        await ProblemAssert.Refused(403, () => analyst.ReplaceFimRuleAsync(FimRules.AppConfig(created.Name), created.Id));
        await ProblemAssert.Refused(403, () => analyst.DeleteFimRuleAsync(created.Id));
        await ProblemAssert.Refused(403, () => analyst.ApplyFimRuleSetAsync(new FimRuleSet { Rules = [] }, dryRun: true));
        await ProblemAssert.Refused(403, () => analyst.RestoreFimRuleVersionAsync(created.Id, 1));
    }
}

public sealed class FimRuleTestsOnSqlite(SqliteApi api) : FimRuleTests(api), IClassFixture<SqliteApi>;

public sealed class FimRuleTestsOnPostgres(PostgresApi api) : FimRuleTests(api), IClassFixture<PostgresApi>;

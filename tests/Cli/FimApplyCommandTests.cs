using Platform.Tests.Infrastructure;

namespace Platform.Tests.Cli;

/// <summary>
/// <c>platformctl fim apply</c> as a pipeline runs it: the plan as a diff, exit 3 from a dry run with changes, 0 once
/// applied, pruning only when asked. One flow in one test: pruning deletes every rule the file leaves out.
/// </summary>
public sealed class FimApplyCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    private const string ThreeRules = """
        rules:
          - name: app-config
            severity: high
            scope: {labels: {role: app}}
            paths: [{path: /srv/app/application.cfg}]
            operations: [read, write]
            effect: alert
          - name: tls-private-keys
            severity: critical
            scope: {hostnames: ["web-*"]}
            paths: [{path: /etc/ssl/private, recursive: true}]
            operations: [write, delete]
            effect: prevent
          - name: audit-logs
            severity: high
            scope: {hostnames: ["*"]}
            paths: [{path: /var/log/audit, recursive: true}]
            operations: [write, delete, rename]
            effect: alert
            allowAppend: true
        """;

    [Fact]
    public async Task A_dry_run_with_changes_exits_3_an_apply_exits_0_and_pruning_happens_only_when_asked()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var rules = cli.File("rules.yaml");
        await File.WriteAllTextAsync(rules, ThreeRules);

        var plan = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run");
        Assert.True(plan.ExitCode == 3, plan.ToString());
        Assert.Contains("+ create  app-config", plan.Out);
        Assert.Contains("+ create  tls-private-keys", plan.Out);
        Assert.Contains("Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.", plan.Out);
        Assert.Empty((await api.Admin().ListFimRulesAsync()).Items); // a dry run changes nothing

        var applied = await cli.RunAsync("fim", "apply", "-f", rules);
        Assert.True(applied.ExitCode == 0, applied.ToString());
        Assert.Contains("Applied: 3 created", applied.Out);
        Assert.Equal(3, (await api.Admin().ListFimRulesAsync()).Items.Count);

        var again = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged.", again.Out);

        // One rule changed, one left out of the file: the dry run shows the field's change and keeps the rule left out.
        await File.WriteAllTextAsync(rules, ThreeRules.Replace("severity: critical", "severity: medium", StringComparison.Ordinal)[..ThreeRules.IndexOf("  - name: audit-logs", StringComparison.Ordinal)]);
        var changed = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run");
        Assert.True(changed.ExitCode == 3, changed.ToString());
        Assert.Contains("~ update  tls-private-keys", changed.Out);
        Assert.Contains("severity: \"critical\" -> \"medium\"", changed.Out);
        Assert.DoesNotContain("delete  audit-logs", changed.Out);
        Assert.Contains("1 rule(s) on the server are not in the file and are kept; --prune deletes them.", changed.Out);

        var pruning = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run", "--prune");
        Assert.True(pruning.ExitCode == 3, pruning.ToString());
        Assert.Contains("- delete  audit-logs", pruning.Out);
        Assert.Contains("Plan: 0 to create, 1 to update, 1 to delete, 1 unchanged.", pruning.Out);

        var withoutPrune = await cli.RunAsync("fim", "apply", "-f", rules);
        Assert.True(withoutPrune.ExitCode == 0, withoutPrune.ToString());
        Assert.Contains("Applied: 0 created, 1 updated, 0 deleted, 1 unchanged.", withoutPrune.Out);
        Assert.Contains((await api.Admin().ListFimRulesAsync()).Items, r => r.Name == "audit-logs");

        var pruned = await cli.RunAsync("-o", "json", "fim", "apply", "-f", rules, "--prune");
        Assert.True(pruned.ExitCode == 0, pruned.ToString());
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(pruned.Out).RootElement.GetProperty("summary").GetProperty("delete").GetInt32());
        Assert.Equal(["app-config", "tls-private-keys"], (await api.Admin().ListFimRulesAsync()).Items.Select(r => r.Name).Order());

        // The rule's history and a restore, by name.
        var history = await cli.RunAsync("fim", "rules", "history", "tls-private-keys");
        Assert.True(history.ExitCode == 0, history.ToString());
        Assert.Contains("severity", history.Out);
        var restored = await cli.RunAsync("fim", "rules", "restore", "tls-private-keys", "1");
        Assert.True(restored.ExitCode == 0, restored.ToString());
        Assert.Contains("now version 3", restored.Out);
        var get = await cli.RunAsync("fim", "rules", "get", "tls-private-keys");
        Assert.Contains("critical", get.Out);
        var list = await cli.RunAsync("-o", "json", "fim", "rules", "list");
        Assert.Equal(2, CliPages.Items(list).Count);
    }

    [Fact]
    public async Task A_dry_run_sends_no_null_for_fields_the_file_leaves_out()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var bodies = new List<string>();
        cli.Transport = inner => new BodyRecorder(bodies) { InnerHandler = inner };
        var rules = cli.File("rules.yaml");
        // No description, no exclusions, no labels, no recursive: the body must leave them out, not send null.
        await File.WriteAllTextAsync(rules, "rules:\n  - name: minimal\n    severity: low\n    scope: {hostnames: ['*']}\n    paths: [{path: /etc/minimal}]\n    operations: [write]\n    effect: alert\n");

        var plan = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run");

        Assert.True(plan.ExitCode == 3, plan.ToString());
        var body = Assert.Single(bodies);
        Assert.DoesNotContain("null", body, StringComparison.Ordinal);
        Assert.DoesNotContain("description", body, StringComparison.Ordinal);
        Assert.DoesNotContain("labels", body, StringComparison.Ordinal);
    }

    private sealed class BodyRecorder(List<string> bodies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                var text = await request.Content.ReadAsStringAsync(cancellationToken);
                lock (bodies)
                    bodies.Add(text);
                request.Content = new StringContent(text, System.Text.Encoding.UTF8, request.Content.Headers.ContentType?.MediaType ?? "application/json");
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task A_rules_file_the_api_refuses_exits_1_with_its_problem_details_and_a_misspelt_field_is_caught_before_sending()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var rules = cli.File("bad.yaml");

        await File.WriteAllTextAsync(rules, "rules:\n  - name: bad\n    severity: high\n    scope: {hostnames: ['*']}\n    paths: [{path: relative/path}]\n    operations: [write]\n    effect: alert\n");
        var refused = await cli.RunAsync("fim", "apply", "-f", rules, "--dry-run");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("error: HTTP 400", refused.Error);
        Assert.Contains("rules[0].paths[0].path", refused.Error);

        await File.WriteAllTextAsync(rules, "rules:\n  - name: typo\n    severity: high\n    sevrity: low\n");
        var typo = await cli.RunAsync("fim", "lint", "-f", rules);
        Assert.True(typo.ExitCode == 1, typo.ToString());
        Assert.Contains("sevrity", typo.Error);
        Assert.Contains("rules[0]", typo.Error);

        await File.WriteAllTextAsync(rules, "rules: [\n");
        var broken = await cli.RunAsync("fim", "apply", "-f", rules);
        Assert.True(broken.ExitCode == 1, broken.ToString());
        Assert.Contains("line", broken.Error);

        var usage = await cli.RunAsync("fim", "apply");
        Assert.True(usage.ExitCode == 2, usage.ToString());
        Assert.Contains("--file", usage.Error);

        await File.WriteAllTextAsync(rules, ThreeRules);
        var lint = await cli.RunAsync("fim", "lint", "-f", rules);
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Contains("3 rule(s), well formed", lint.Error);
    }
}

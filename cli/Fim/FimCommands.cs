using System.Text.RegularExpressions;

namespace Platform.Cli.Fim;

/// <summary><c>fim apply|lint</c>, <c>fim rules ...</c>, <c>fim alerts ...</c> and <c>fim unlock|lock</c>.</summary>
public static partial class FimCommands
{
    private static readonly Option<FileInfo> RulesFile = new("--file", "-f")
    {
        Description = "The rules file (YAML or JSON): the whole desired rule set, rules matched by name.",
        Required = true,
    };

    public static Command Fim(CliHost host) =>
        new Command("fim", "File integrity monitoring: rules as code, rule history, alerts.")
            .With(Apply(host), Lint(host), Rules(host), Alerts(host), Unlock(host), Lock(host));

    private static Command Apply(CliHost host)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the plan only; exit 3 if it would change anything." };
        var prune = new Option<bool>("--prune") { Description = "Delete the rules on the server that the file does not list." };
        return new Command("apply", "Make the server's FIM rules what the file says, printing the plan as a diff.")
            .With(RulesFile, dryRun, prune)
            .Does(host, async (run, cancellationToken) =>
            {
                var file = run.Get(RulesFile)!;
                var ruleSet = RuleSetFile.Read(file.FullName);
                var client = run.Client();
                var pruning = run.Get(prune);
                FimPlan plan;
                var kept = 0;
                if (run.Get(dryRun) && !pruning && !run.Output.Json)
                {
                    // Planned with pruning, to say how many rules the file leaves out even when they are kept (json
                    // output prints the API's answer to the request as given instead).
                    plan = await client.ApplyFimRuleSetAsync(ruleSet, dryRun: true, prune: true, cancellationToken);
                    kept = plan.Summary.Delete;
                    plan = WithoutDeletions(plan);
                }
                else
                {
                    plan = await client.ApplyFimRuleSetAsync(ruleSet, dryRun: run.Get(dryRun), prune: pruning, cancellationToken);
                }

                if (run.Output.Json)
                    run.Output.Answer();
                else
                    PlanText.Write(run.Output, plan, kept);
                return plan.DryRun && PlanText.HasChanges(plan) ? ExitCodes.Changes : ExitCodes.Ok;
            });
    }

    private static FimPlan WithoutDeletions(FimPlan plan) => new()
    {
        DryRun = plan.DryRun,
        Applied = plan.Applied,
        Items = plan.Items.Where(i => i.Action != FimPlanAction.Delete).ToList(),
        Summary = new FimPlanSummary { Create = plan.Summary.Create, Update = plan.Summary.Update, Delete = 0, Unchanged = plan.Summary.Unchanged },
    };

    private static Command Lint(CliHost host) =>
        new Command("lint", "Check a rules file without a server: YAML, known fields, types, unique names. (A --dry-run also checks it against the API's validation.)")
            .With(RulesFile)
            .Does(host, async (run, _) =>
            {
                var file = run.Get(RulesFile)!;
                var ruleSet = RuleSetFile.Read(file.FullName);
                await host.Error.WriteLineAsync($"{file.Name}: {ruleSet.Rules.Count} rule(s), well formed");
                return ExitCodes.Ok;
            });

    private static Command Rules(CliHost host)
    {
        var rule = new Argument<string>("rule") { Description = "The rule's id or name." };
        var version = new Argument<int>("version") { Description = "The version to bring back (see 'fim rules history')." };
        var complianceTag = new Option<string?>("--compliance-tag") { Description = "Only rules with this tag, e.g. pci-dss:11.5." };
        return new Command("rules", "The FIM rules on the server.")
            .With(
                new Command("list", "The rules, by name.").With(complianceTag).Lists<FimRule>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListFimRulesAsync(limit, cursor, run.Get(complianceTag), cancellationToken),
                    ("id", r => r.Id),
                    ("name", r => r.Name),
                    ("severity", r => Output.Spec(r.Severity)),
                    ("effect", r => Output.Spec(r.Effect)),
                    ("operations", r => string.Join(",", r.Operations.Select(Output.Spec))),
                    ("paths", r => string.Join(" ", r.Paths.Select(p => p.Path))),
                    ("version", r => r.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("enabled", r => r.Enabled ? "yes" : "no")),
                new Command("get", "One rule.").With(rule).Does(host, async (run, cancellationToken) =>
                {
                    var client = run.Client();
                    var found = await client.GetFimRuleAsync(await RuleIdAsync(client, run.Get(rule)!, cancellationToken), cancellationToken);
                    run.Output.Fields(
                        ("id", found.Id),
                        ("name", found.Name),
                        ("description", found.Description),
                        ("severity", Output.Spec(found.Severity)),
                        ("effect", Output.Spec(found.Effect)),
                        ("enabled", found.Enabled ? "yes" : "no"),
                        ("operations", string.Join(", ", found.Operations.Select(Output.Spec))),
                        ("paths", string.Join(", ", found.Paths.Select(p => p.Path + (p.Recursive == true ? " (recursive)" : "")))),
                        ("hostnames", string.Join(", ", found.Scope.Hostnames ?? [])),
                        ("labels", Output.Labels(found.Scope.Labels, ", ")),
                        ("allow append", found.AllowAppend ? "yes" : "no"),
                        ("compliance", string.Join(", ", found.ComplianceTags)),
                        ("version", found.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        ("updated", $"{Output.Time(found.UpdatedAt)} by {found.UpdatedBy ?? "-"}"),
                        ("unlocked", found.Unlock is { } window ? $"until {Output.Time(window.Until)} by {window.UnlockedBy ?? "-"}: {window.Reason}" : "no"));
                    return ExitCodes.Ok;
                }),
                new Command("history", "Every version of a rule: who changed what, when.").With(rule).WithPaging().Does(host, async (run, cancellationToken) =>
                {
                    var client = run.Client();
                    var id = await RuleIdAsync(client, run.Get(rule)!, cancellationToken);
                    var versions = await Paging.CollectAsync<FimRuleVersion>(
                        run,
                        async (cursor, limit) => await client.ListFimRuleVersionsAsync(id, limit, cursor, cancellationToken));
                    if (!run.Output.Json)
                    {
                        run.Output.Table(
                            versions,
                            ("version", v => v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                            ("change", v => Output.Spec(v.Change)),
                            ("at", v => Output.Time(v.ChangedAt)),
                            ("by", v => v.ChangedBy),
                            ("fields", v => string.Join(", ", v.Changes.Select(c => c.Field))));
                    }
                    return ExitCodes.Ok;
                }),
                new Command("restore", "Make an earlier version of a rule the current one (a new version; a deleted rule comes back).")
                    .With(rule, version)
                    .Does(host, async (run, cancellationToken) =>
                    {
                        var client = run.Client();
                        var id = await RuleIdAsync(client, run.Get(rule)!, cancellationToken);
                        var restored = await client.RestoreFimRuleVersionAsync(id, run.Get(version), cancellationToken: cancellationToken);
                        run.Output.Result($"restored {restored.Name} ({restored.Id}) from version {run.Get(version)}: now version {restored.Version}");
                        return ExitCodes.Ok;
                    }));
    }

    /// <summary>A rule id as given, or the id of the rule with that name.</summary>
    private static async Task<string> RuleIdAsync(PlatformClient client, string rule, CancellationToken cancellationToken)
    {
        if (RuleIdPattern().IsMatch(rule))
            return rule;
        var rules = PageCursor.ItemsAsync<FimRule>(async cursor => await client.ListFimRulesAsync(200, cursor, cancellationToken: cancellationToken));
        return await rules.FirstOrDefaultAsync(r => r.Name == rule, cancellationToken) is { } found
            ? found.Id
            : throw new CliException($"there is no rule named '{rule}' (platformctl fim rules list).");
    }

    [GeneratedRegex("^[a-z]{3}_[0-9a-f]{32}$")]
    private static partial Regex RuleIdPattern();

    private static Command Alerts(CliHost host)
    {
        var filters = new AlertFilters();
        var format = SpecValues<ExportFormat>.One("--format", "csv or jsonl");
        var outFile = new Option<FileInfo?>("--out", "-O") { Description = "Write the export to this file (default: standard output)." };
        var alertId = new Argument<string>("alert") { Description = "The alert's id." };
        return new Command("alerts", "FIM alerts: what was read, written or prevented, by whom.")
            .With(
                filters.AddTo(new Command("list", "Alerts, newest first.")).Lists<FimAlert>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListFimAlertsAsync(
                            limit, cursor, run.Get(filters.Hostname), run.Get(filters.AgentId), run.Get(filters.RuleId), run.Get(filters.PathPrefix),
                            run.Get(filters.PathGlob), run.Get(filters.Action), run.Get(filters.Effect), run.Get(filters.Severity),
                            run.Get(filters.Since), run.Get(filters.Until), cancellationToken),
                    ("id", a => a.Id),
                    ("last seen", a => Output.Time(a.LastSeen)),
                    ("severity", a => Output.Spec(a.Severity)),
                    ("effect", a => Output.Spec(a.Effect)),
                    ("count", a => a.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("description", a => a.Description)),
                filters.AddTo(new Command("export", "Every alert that matches, streamed as CSV or JSON Lines.")).With(format, outFile).Does(host, async (run, cancellationToken) =>
                {
                    // The api exports in parts (a bounded number of stored alerts a request): follow X-Next-Cursor to the end.
                    var file = run.Get(outFile);
                    await using var target = file?.Create();
                    string? cursor = null;
                    do
                    {
                        using var export = await run.Client().ExportFimAlertsAsync(
                            run.Get(format) ?? ExportFormat.Csv, cursor, run.Get(filters.Hostname), run.Get(filters.AgentId), run.Get(filters.RuleId),
                            run.Get(filters.PathPrefix), run.Get(filters.PathGlob), run.Get(filters.Action), run.Get(filters.Effect),
                            run.Get(filters.Severity), run.Get(filters.Since), run.Get(filters.Until), cancellationToken);
                        cursor = export.Headers.TryGetValue("X-Next-Cursor", out var next) ? next.FirstOrDefault() : null;
                        if (target is not null)
                        {
                            await export.Stream.CopyToAsync(target, cancellationToken);
                        }
                        else
                        {
                            using var reader = new StreamReader(export.Stream);
                            while (await reader.ReadLineAsync(cancellationToken) is { } line)
                                await host.Out.WriteLineAsync(line);
                        }
                    }
                    while (cursor is not null);

                    if (target is not null)
                        await host.Error.WriteLineAsync($"wrote {file!.FullName} ({target.Length} bytes)");
                    return ExitCodes.Ok;
                }),
                new Command("ack", "Acknowledge an alert (new activity in its fold window opens it again).").With(alertId).Does(host, async (run, cancellationToken) =>
                {
                    var alert = await run.Client().AcknowledgeFimAlertAsync(run.Get(alertId)!, cancellationToken);
                    run.Output.Result($"acknowledged {alert.Id}: {alert.Description}");
                    return ExitCodes.Ok;
                }));
    }

    private sealed class AlertFilters
    {
        public Option<string?> Hostname { get; } = new("--host") { Description = "Only this host." };
        public Option<string?> AgentId { get; } = new("--agent") { Description = "Only this agent (agt_...)." };
        public Option<string?> RuleId { get; } = new("--rule") { Description = "Only this rule's id." };
        public Option<string?> PathPrefix { get; } = new("--path-prefix") { Description = "Only paths under this one." };
        public Option<string?> PathGlob { get; } = new("--path-glob") { Description = "Only paths matching this glob." };
        public Option<FimOperation?> Action { get; } = SpecValues<FimOperation>.One("--action", "Only this operation");
        public Option<FimAlertEffect?> Effect { get; } = SpecValues<FimAlertEffect>.One("--effect", "Only this effect");
        public Option<FimSeverity?> Severity { get; } = SpecValues<FimSeverity>.One("--severity", "Only this severity");
        public Option<DateTimeOffset?> Since { get; } = new("--since") { Description = "Last seen at or after (RFC 3339)." };
        public Option<DateTimeOffset?> Until { get; } = new("--until") { Description = "Last seen before (RFC 3339)." };

        public Command AddTo(Command command) =>
            command.With(Hostname, AgentId, RuleId, PathPrefix, PathGlob, Action, Effect, Severity, Since, Until);
    }
}

using System.Globalization;
using FluentValidation;
using Platform.Api.Auth;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Fim;

public sealed class FimRuleEndpoints(Database database, FimRuleStore rules, FimRuleWriter writer, Cursors cursors, FimUnlockStore unlocks, TimeProvider time) : FimRulesHandlersBase
{
    public override async Task<IResult> CreateFimRule(HttpContext http, FimRuleSpec body, CancellationToken cancellationToken)
    {
        var canonical = RuleSpecs.Canonical(body);
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash)
            return NameTaken(canonical.Name, clash);
        var row = await writer.CreateAsync(write, http.Caller(), canonical, cancellationToken);
        await write.CommitAsync(cancellationToken);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Created($"/api/v1/fim/rules/{row.RuleId}", RuleSpecs.ToContract(row));
    }

    public override async Task<IResult> ListFimRules(HttpContext http, int limit, string? cursor, string? complianceTag, CancellationToken cancellationToken)
    {
        var rows = await rules.ListAsync(cursors.TryDecode(CursorLists.FimRules, cursor, out var after) ? after : null, limit, complianceTag, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.FimRules, row => row.Name);
        var open = await unlocks.AllOpenAsync(time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new FimRulePage { Items = items.Select(row => WithUnlock(RuleSpecs.ToContract(row), open)).ToList(), NextCursor = next });
    }

    public override async Task<IResult> GetFimRule(HttpContext http, string ruleId, CancellationToken cancellationToken)
    {
        var row = await rules.FindAsync(ruleId, cancellationToken);
        if (row is null)
            return NotFound(ruleId);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Ok(WithUnlock(RuleSpecs.ToContract(row), await unlocks.AllOpenAsync(time.GetUtcNow(), cancellationToken)));
    }

    /// <summary>The rule with its open unlock window, if it has one (and is still a prevent rule: a window means nothing to an alert rule).</summary>
    private static FimRule WithUnlock(FimRule rule, IReadOnlyDictionary<string, FimUnlockRow> open)
    {
        if (rule.Effect == FimEffect.Prevent && open.TryGetValue(rule.Id, out var window))
            rule.Unlock = window.ToContract();
        return rule;
    }

    public override async Task<IResult> ReplaceFimRule(HttpContext http, string? if_Match, FimRuleSpec body, string ruleId, CancellationToken cancellationToken)
    {
        var canonical = RuleSpecs.Canonical(body);
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (current, refusal) = await CurrentForChangeAsync(write, ruleId, if_Match, cancellationToken);
        if (current is null)
            return refusal!;
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash && clash.RuleId != ruleId)
            return NameTaken(canonical.Name, clash);

        var row = RuleSpecs.ToJson(canonical) == current.SpecJson
            ? current
            : await writer.UpdateAsync(write, http.Caller(), current, canonical, "updated", cancellationToken);
        await write.CommitAsync(cancellationToken);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Ok(RuleSpecs.ToContract(row));
    }

    public override async Task<IResult> DeleteFimRule(HttpContext http, string? if_Match, string ruleId, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (current, refusal) = await CurrentForChangeAsync(write, ruleId, if_Match, cancellationToken);
        if (current is null)
            return refusal!;
        await writer.DeleteAsync(write, http.Caller(), current, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    public override async Task<IResult> ListFimRuleVersions(HttpContext http, int limit, string? cursor, string ruleId, CancellationToken cancellationToken)
    {
        var before = cursors.TryDecode(CursorLists.FimRuleVersions, cursor, out var version) ? version : (int?)null;
        // One row more than the page: it says there is a next page and is the base of the last item's diff.
        var rows = await rules.ListVersionsAsync(ruleId, before, limit + 1, cancellationToken);
        if (rows.Count == 0 && before is null)
            return NotFound(ruleId);
        var items = rows.Take(limit).Select((row, i) => new FimRuleVersion
        {
            Version = row.Version,
            Change = SpecEnum.FromSpec<FimRuleVersionChange>(row.Change),
            ChangedAt = row.ChangedAt,
            ChangedBy = row.ChangedBy,
            Rule = RuleSpecs.FromJson(row.SpecJson),
            Changes = RuleSpecs.Diff(i + 1 < rows.Count ? rows[i + 1].SpecJson : null, row.SpecJson),
        }).ToList();
        var next = rows.Count > limit ? cursors.Encode(CursorLists.FimRuleVersions, items[^1].Version) : null;
        return TypedResults.Ok(new FimRuleVersionPage { Items = items, NextCursor = next });
    }

    public override async Task<IResult> RestoreFimRuleVersion(HttpContext http, string? if_Match, string ruleId, int version, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        var wanted = await FimRuleStore.FindVersionAsync(write, ruleId, version, cancellationToken);
        if (wanted is null)
            return Problems.NotFound($"Rule '{ruleId}' has no version {version}.");
        var canonical = RuleSpecs.FromJson(wanted.SpecJson);
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash && clash.RuleId != ruleId)
            return NameTaken(canonical.Name, clash);

        var caller = http.Caller();
        FimRuleRow row;
        if (await FimRuleStore.FindAsync(write, ruleId, cancellationToken) is { } current)
        {
            if (!ETags.Matches(if_Match, current.Version))
                return Stale(current, if_Match);
            row = current.SpecJson == wanted.SpecJson ? current : await writer.UpdateAsync(write, caller, current, canonical, "restored", cancellationToken);
        }
        else
        {
            var latest = (await FimRuleStore.LatestVersionAsync(write, ruleId, cancellationToken))!;
            if (!ETags.Matches(if_Match, latest.Version))
                return Problems.PreconditionFailed($"The rule is deleted at version {latest.Version}; If-Match named {if_Match}.");
            row = await writer.RecreateAsync(write, caller, latest, canonical, cancellationToken);
        }

        await write.CommitAsync(cancellationToken);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Ok(RuleSpecs.ToContract(row));
    }

    public override async Task<IResult> ApplyFimRuleSet(HttpContext http, bool dryRun, bool prune, FimRuleSet body, CancellationToken cancellationToken)
    {
        var desired = body.Rules.Select(RuleSpecs.Canonical).ToDictionary(r => r.Name, StringComparer.Ordinal);
        await using var write = await database.BeginWriteAsync(cancellationToken);
        if (!dryRun)
            await rules.LockAsync(write, cancellationToken);
        var existing = (await FimRuleStore.AllAsync(write, cancellationToken)).ToDictionary(r => r.Name, StringComparer.Ordinal);

        var plan = new List<(FimPlanItem Item, FimRuleSpec? Spec, FimRuleRow? Current)>();
        foreach (var (name, spec) in desired)
        {
            var json = RuleSpecs.ToJson(spec);
            existing.TryGetValue(name, out var current);
            var action = current is null ? FimPlanAction.Create : current.SpecJson == json ? FimPlanAction.Unchanged : FimPlanAction.Update;
            plan.Add((new FimPlanItem { Name = name, Action = action, RuleId = current?.RuleId, Changes = RuleSpecs.Diff(current?.SpecJson, json) }, spec, current));
        }

        if (prune)
        {
            foreach (var (name, current) in existing.Where(e => !desired.ContainsKey(e.Key)))
                plan.Add((new FimPlanItem { Name = name, Action = FimPlanAction.Delete, RuleId = current.RuleId, Changes = [] }, null, current));
        }

        var changes = plan.Count(p => p.Item.Action != FimPlanAction.Unchanged);
        if (!dryRun && changes > 0)
        {
            var caller = http.Caller();
            // Deletions first, so a rule set may reuse a name it removes in the same apply.
            foreach (var (item, spec, current) in plan.OrderBy(p => p.Item.Action == FimPlanAction.Delete ? 0 : 1))
            {
                switch (item.Action)
                {
                    case FimPlanAction.Delete:
                        await writer.DeleteAsync(write, caller, current!, cancellationToken);
                        break;
                    case FimPlanAction.Update:
                        await writer.UpdateAsync(write, caller, current!, spec!, "updated", cancellationToken);
                        break;
                    case FimPlanAction.Create:
                        item.RuleId = (await writer.CreateAsync(write, caller, spec!, cancellationToken)).RuleId;
                        break;
                }
            }

            await write.CommitAsync(cancellationToken);
        }

        var items = plan.Select(p => p.Item).OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        return TypedResults.Ok(new FimPlan
        {
            DryRun = dryRun,
            Applied = !dryRun && changes > 0,
            Summary = new FimPlanSummary
            {
                Create = items.Count(i => i.Action == FimPlanAction.Create),
                Update = items.Count(i => i.Action == FimPlanAction.Update),
                Delete = items.Count(i => i.Action == FimPlanAction.Delete),
                Unchanged = items.Count(i => i.Action == FimPlanAction.Unchanged),
            },
            Items = items,
        });
    }

    /// <summary>Takes the rule-change lock, then the rule as it is now; or the 404/412 that refuses the change.</summary>
    private async Task<(FimRuleRow? Current, IResult? Refusal)> CurrentForChangeAsync(
        Database.Write write, string ruleId, string? ifMatch, CancellationToken cancellationToken)
    {
        await rules.LockAsync(write, cancellationToken);
        var current = await FimRuleStore.FindAsync(write, ruleId, cancellationToken);
        if (current is null)
            return (null, NotFound(ruleId));
        return ETags.Matches(ifMatch, current.Version) ? (current, null) : (null, Stale(current, ifMatch));
    }

    private static IResult NotFound(string ruleId) => Problems.NotFound($"FIM rule '{ruleId}' does not exist.");

    private static IResult NameTaken(string name, FimRuleRow clash) =>
        Problems.Conflict($"Another rule ('{clash.RuleId}') is already named '{name}'.");

    private static IResult Stale(FimRuleRow current, string? ifMatch) =>
        Problems.PreconditionFailed($"The rule is at version {current.Version} (ETag {ETags.For(current.Version)}); If-Match named {ifMatch}.");
}

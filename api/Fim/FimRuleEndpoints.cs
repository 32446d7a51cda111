using FluentValidation;
using Platform.Api.Generated;

namespace Platform.Api.Fim;

public sealed class FimRuleEndpoints(FimRuleStore rules, FimRuleChanges changes, Cursors cursors, FimUnlockStore unlocks, TimeProvider time) : FimRulesHandlersBase
{
    public override async Task<Results<Created<FimRule>, ProblemHttpResult>> CreateFimRule(HttpContext http, FimRuleSpec body, CancellationToken cancellationToken)
    {
        var (row, refusal) = await changes.CreateAsync(http.Caller(), RuleSpecs.Canonical(body), cancellationToken);
        if (refusal is not null)
            return Refused(refusal);
        http.Response.Headers.ETag = ETags.For(row!.Version);
        return TypedResults.Created($"/api/v1/fim/rules/{row.RuleId}", RuleSpecs.ToContract(row));
    }

    public override async Task<Results<Ok<FimRulePage>, ProblemHttpResult>> ListFimRules(HttpContext http, int limit, string? cursor, string? complianceTag, CancellationToken cancellationToken)
    {
        var rows = await rules.ListAsync(cursors.TryDecode(CursorLists.FimRules, cursor, out var after) ? after : null, limit, complianceTag, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.FimRules, row => row.Name);
        var open = await unlocks.AllOpenAsync(time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new FimRulePage { Items = items.Select(row => WithUnlock(RuleSpecs.ToContract(row), open)).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<FimRule>, ProblemHttpResult>> GetFimRule(HttpContext http, string ruleId, CancellationToken cancellationToken)
    {
        var row = await rules.FindAsync(ruleId, cancellationToken);
        if (row is null)
            return NotFound(ruleId);
        return ETags.Ok(http, row.Version, WithUnlock(RuleSpecs.ToContract(row), await unlocks.AllOpenAsync(time.GetUtcNow(), cancellationToken)));
    }

    /// <summary>The rule with its open unlock window, if it has one (and is still a prevent rule: a window means nothing to an alert rule).</summary>
    private static FimRule WithUnlock(FimRule rule, IReadOnlyDictionary<string, FimUnlockRow> open)
    {
        if (rule.Effect == FimEffect.Prevent && open.TryGetValue(rule.Id, out var window))
            rule.Unlock = window.ToContract();
        return rule;
    }

    public override async Task<Results<Ok<FimRule>, ProblemHttpResult>> ReplaceFimRule(HttpContext http, string? if_Match, FimRuleSpec body, string ruleId, CancellationToken cancellationToken) =>
        Changed(http, await changes.ReplaceAsync(http.Caller(), ruleId, if_Match, RuleSpecs.Canonical(body), cancellationToken));

    public override async Task<Results<NoContent, ProblemHttpResult>> DeleteFimRule(HttpContext http, string? if_Match, string ruleId, CancellationToken cancellationToken) =>
        await changes.DeleteAsync(http.Caller(), ruleId, if_Match, cancellationToken) is { } refusal ? Refused(refusal) : TypedResults.NoContent();

    public override async Task<Results<Ok<FimRuleVersionPage>, ProblemHttpResult>> ListFimRuleVersions(HttpContext http, int limit, string? cursor, string ruleId, CancellationToken cancellationToken)
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

    public override async Task<Results<Ok<FimRule>, ProblemHttpResult>> RestoreFimRuleVersion(HttpContext http, string? if_Match, string ruleId, int version, CancellationToken cancellationToken) =>
        Changed(http, await changes.RestoreAsync(http.Caller(), ruleId, version, if_Match, cancellationToken));

    public override async Task<Results<Ok<FimPlan>, ProblemHttpResult>> ApplyFimRuleSet(HttpContext http, bool dryRun, bool prune, FimRuleSet body, CancellationToken cancellationToken)
    {
        var desired = body.Rules.Select(RuleSpecs.Canonical).ToDictionary(r => r.Name, StringComparer.Ordinal);
        var plan = await changes.ApplyAsync(http.Caller(), desired, dryRun, prune, cancellationToken);
        var items = plan.OrderBy(i => i.Name, StringComparer.Ordinal).ToList();
        return TypedResults.Ok(new FimPlan
        {
            DryRun = dryRun,
            Applied = !dryRun && items.Any(i => i.Action != FimPlanAction.Unchanged),
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

    private static Results<Ok<FimRule>, ProblemHttpResult> Changed(HttpContext http, (FimRuleRow? Row, FimRuleRefusal? Refusal) change)
    {
        if (change.Refusal is not null)
            return Refused(change.Refusal);
        return ETags.Ok(http, change.Row!.Version, RuleSpecs.ToContract(change.Row));
    }

    private static ProblemHttpResult NotFound(string ruleId) => Refused(FimRuleRefusal.NotFound(ruleId));

    private static ProblemHttpResult Refused(FimRuleRefusal refusal) => refusal.Problem();
}

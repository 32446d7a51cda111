using Platform.Api.Audit;

namespace Platform.Api.Fim;

/// <summary>Why a rule change was refused, with what to tell the caller: not there (404), another rule's name (409), a stale If-Match (412).</summary>
public sealed record FimRuleRefusal(int Status, string Detail)
{
    public static FimRuleRefusal NotFound(string ruleId) => new(StatusCodes.Status404NotFound, $"FIM rule '{ruleId}' does not exist.");

    public static FimRuleRefusal NameTaken(string name, FimRuleRow clash) => new(StatusCodes.Status409Conflict, $"Another rule ('{clash.RuleId}') is already named '{name}'.");

    public static FimRuleRefusal Stale(FimRuleRow current, string? ifMatch) =>
        new(StatusCodes.Status412PreconditionFailed, $"The rule is at version {current.Version} (ETag {ETags.For(current.Version)}); If-Match named {ifMatch}.");

    /// <summary>The problem document that tells the caller.</summary>
    public ProblemHttpResult Problem() => Status switch
    {
        StatusCodes.Status404NotFound => Problems.NotFound(Detail),
        StatusCodes.Status409Conflict => Problems.Conflict(Detail),
        _ => Problems.PreconditionFailed(Detail),
    };
}

/// <summary>
/// Each change a person or pipeline makes to rules, in one write under the rule-change lock: the checks that refuse it
/// (name clashes, If-Match) and the change itself (<see cref="FimRuleWriter"/>: version, audit entry, policy generation).
/// Unlocking a prevent rule for a while, and locking it again, are changes too (FimRuleChanges.Unlocks.cs).
/// </summary>
public sealed partial class FimRuleChanges(Database database, FimRuleStore rules, FimRuleWriter writer, AuditLog audit, TimeProvider time)
{
    public async Task<(FimRuleRow? Row, FimRuleRefusal? Refusal)> CreateAsync(Caller caller, FimRuleSpec canonical, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash)
            return (null, FimRuleRefusal.NameTaken(canonical.Name, clash));
        var row = await writer.CreateAsync(write, caller, canonical, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (row, null);
    }

    public async Task<(FimRuleRow? Row, FimRuleRefusal? Refusal)> ReplaceAsync(Caller caller, string ruleId, string? ifMatch, FimRuleSpec canonical, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (current, refusal) = await CurrentForChangeAsync(write, ruleId, ifMatch, cancellationToken);
        if (current is null)
            return (null, refusal);
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash && clash.RuleId != ruleId)
            return (null, FimRuleRefusal.NameTaken(canonical.Name, clash));

        var row = RuleSpecs.ToJson(canonical) == current.SpecJson
            ? current
            : await writer.UpdateAsync(write, caller, current, canonical, "updated", cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (row, null);
    }

    /// <summary>Deletes a rule; the refusal, or null when it was deleted.</summary>
    public async Task<FimRuleRefusal?> DeleteAsync(Caller caller, string ruleId, string? ifMatch, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (current, refusal) = await CurrentForChangeAsync(write, ruleId, ifMatch, cancellationToken);
        if (current is null)
            return refusal;
        await writer.DeleteAsync(write, caller, current, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return null;
    }

    public async Task<(FimRuleRow? Row, FimRuleRefusal? Refusal)> RestoreAsync(Caller caller, string ruleId, int version, string? ifMatch, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        var wanted = await FimRuleStore.FindVersionAsync(write, ruleId, version, cancellationToken);
        if (wanted is null)
            return (null, new FimRuleRefusal(StatusCodes.Status404NotFound, $"Rule '{ruleId}' has no version {version}."));
        var canonical = RuleSpecs.FromJson(wanted.SpecJson);
        if (await FimRuleStore.FindByNameAsync(write, canonical.Name, cancellationToken) is { } clash && clash.RuleId != ruleId)
            return (null, FimRuleRefusal.NameTaken(canonical.Name, clash));

        FimRuleRow row;
        if (await FimRuleStore.FindAsync(write, ruleId, cancellationToken) is { } current)
        {
            if (!ETags.Matches(ifMatch, current.Version))
                return (null, FimRuleRefusal.Stale(current, ifMatch));
            row = current.SpecJson == wanted.SpecJson ? current : await writer.UpdateAsync(write, caller, current, canonical, "restored", cancellationToken);
        }
        else
        {
            var latest = (await FimRuleStore.LatestVersionAsync(write, ruleId, cancellationToken))!;
            if (!ETags.Matches(ifMatch, latest.Version))
                return (null, new FimRuleRefusal(StatusCodes.Status412PreconditionFailed, $"The rule is deleted at version {latest.Version}; If-Match named {ifMatch}."));
            row = await writer.RecreateAsync(write, caller, latest, canonical, cancellationToken);
        }

        await write.CommitAsync(cancellationToken);
        return (row, null);
    }

    /// <summary>
    /// Plans a rule set against the rules there are (<paramref name="prune"/>: rules it does not name are deleted) and,
    /// unless <paramref name="dryRun"/>, applies the plan in one write; returns the plan, each created rule with its id.
    /// </summary>
    public async Task<IReadOnlyList<FimPlanItem>> ApplyAsync(Caller caller, IReadOnlyDictionary<string, FimRuleSpec> desired, bool dryRun, bool prune, CancellationToken cancellationToken)
    {
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

        if (!dryRun && plan.Any(p => p.Item.Action != FimPlanAction.Unchanged))
        {
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

        return plan.Select(p => p.Item).ToList();
    }

    /// <summary>Takes the rule-change lock, then the rule as it is now; or the 404/412 that refuses the change.</summary>
    private async Task<(FimRuleRow? Current, FimRuleRefusal? Refusal)> CurrentForChangeAsync(Database.Write write, string ruleId, string? ifMatch, CancellationToken cancellationToken)
    {
        await rules.LockAsync(write, cancellationToken);
        var current = await FimRuleStore.FindAsync(write, ruleId, cancellationToken);
        if (current is null)
            return (null, FimRuleRefusal.NotFound(ruleId));
        return ETags.Matches(ifMatch, current.Version) ? (current, null) : (null, FimRuleRefusal.Stale(current, ifMatch));
    }
}

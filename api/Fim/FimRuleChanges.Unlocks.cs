namespace Platform.Api.Fim;

public sealed partial class FimRuleChanges
{
    /// <summary>
    /// Lifts a prevent rule's protection for <paramref name="minutes"/>: a window that replaces the one open (ended now),
    /// with who and why in the audit log, and a new policy generation so agents hear of it at their next poll.
    /// </summary>
    public async Task<(FimUnlockRow? Window, FimRuleRefusal? Refusal)> UnlockAsync(Caller caller, string ruleId, int minutes, string reason, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        // The rule-change lock: unlocks of one rule (and rule changes) take turns, so two at once leave one window open.
        await rules.LockAsync(write, cancellationToken);
        var rule = await FimRuleStore.FindAsync(write, ruleId, cancellationToken);
        if (rule is null)
            return (null, FimRuleRefusal.NotFound(ruleId));
        var spec = RuleSpecs.FromJson(rule.SpecJson);
        if (spec.Effect != FimEffect.Prevent)
            return (null, new FimRuleRefusal(StatusCodes.Status409Conflict, $"FIM rule '{ruleId}' has effect '{SpecEnum.ToSpec(spec.Effect)}': only a 'prevent' rule has a protection to lift."));
        if (spec.Enabled == false)
            return (null, new FimRuleRefusal(StatusCodes.Status409Conflict, $"FIM rule '{ruleId}' is disabled: it protects nothing to lift."));

        var now = time.GetUtcNow();
        var previous = await FimUnlockStore.OpenAsync(write, ruleId, now, cancellationToken);
        if (previous is not null)
            await FimUnlockStore.EndAsync(write, previous.UnlockId, now, caller.TokenId, cancellationToken);
        var window = new FimUnlockRow
        {
            UnlockId = Ids.New("unl"),
            RuleId = ruleId,
            UnlockedFrom = now,
            UnlockedUntil = now.AddMinutes(minutes),
            Reason = reason.Trim(),
            UnlockedBy = caller.TokenId,
        };
        await FimUnlockStore.InsertAsync(write, window, cancellationToken);
        // Who, why and until when; the window it replaced, if one was open.
        await audit.AppendAsync(write, caller, "fim-rule.unlock", "fim-rule", ruleId, previous?.ToContract(), window.ToContract(), cancellationToken);
        await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (window, null);
    }

    /// <summary>Ends the rule's open unlock window now, if it has one; the refusal, or null when the rule is locked.</summary>
    public async Task<FimRuleRefusal?> LockAsync(Caller caller, string ruleId, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        if (await FimRuleStore.FindAsync(write, ruleId, cancellationToken) is null)
            return FimRuleRefusal.NotFound(ruleId);
        var now = time.GetUtcNow();
        if (await FimUnlockStore.OpenAsync(write, ruleId, now, cancellationToken) is not { } open)
            return null;
        await FimUnlockStore.EndAsync(write, open.UnlockId, now, caller.TokenId, cancellationToken);
        var ended = open with { UnlockedUntil = now, EndedBy = caller.TokenId };
        await audit.AppendAsync(write, caller, "fim-rule.lock", "fim-rule", ruleId, open.ToContract(), ended.ToContract(), cancellationToken);
        await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return null;
    }
}

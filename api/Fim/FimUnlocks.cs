using System.Data.Common;
using Dapper;
using FluentValidation;
using Platform.Api.Audit;
using Platform.Api.Auth;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Fim;

public sealed class FimUnlockRow
{
    public required string UnlockId { get; init; }
    public required string RuleId { get; init; }
    public required DateTimeOffset UnlockedFrom { get; init; }
    public required DateTimeOffset UnlockedUntil { get; init; }
    public required string Reason { get; init; }
    public string? UnlockedBy { get; init; }
    public string? EndedBy { get; init; }

    public FimRuleUnlock ToContract() => new()
    {
        Id = UnlockId,
        RuleId = RuleId,
        From = UnlockedFrom,
        Until = UnlockedUntil,
        Reason = Reason,
        UnlockedBy = UnlockedBy,
    };
}

/// <summary>
/// Unlock windows of prevent rules. Every window is kept (its end moved earlier when it is ended or replaced), so
/// that an alert reported late can still be placed in one. Changes take the rule-change lock and bump the policy
/// generation, so every API instance serves agents the window, or its end, at their next poll.
/// </summary>
public sealed class FimUnlockStore(Database database)
{
    private const string Columns = "unlock_id, rule_id, unlocked_from, unlocked_until, reason, unlocked_by, ended_by";

    /// <summary>The window of the rule open at <paramref name="now"/>, if any.</summary>
    public static Task<FimUnlockRow?> OpenAsync(Database.Write write, string ruleId, DateTimeOffset now, CancellationToken cancellationToken) =>
        write.Db.QueryFirstOrDefaultAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where rule_id = @ruleId and unlocked_from <= @now and unlocked_until > @now order by unlocked_from desc, unlock_id desc",
            new { ruleId, now }, write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Every window open at <paramref name="now"/>, by rule (at most one a rule: a new one ends the one before).</summary>
    public async Task<IReadOnlyDictionary<string, FimUnlockRow>> AllOpenAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var rows = await db.QueryAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where unlocked_until > @now and unlocked_from <= @now order by unlocked_from, unlock_id", new { now }, cancellationToken: cancellationToken));
        var open = new Dictionary<string, FimUnlockRow>(StringComparer.Ordinal);
        foreach (var row in rows)
            open[row.RuleId] = row;
        return open;
    }

    /// <summary>The windows of a rule that overlap [<paramref name="from"/>, <paramref name="until"/>).</summary>
    public async Task<IReadOnlyList<FimUnlockRow>> OverlappingAsync(string ruleId, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FimUnlockRow>(new CommandDefinition(
            $"select {Columns} from fim_rule_unlock where rule_id = @ruleId and unlocked_until > @from and unlocked_from < @until order by unlocked_from limit 1000",
            new { ruleId, from, until }, cancellationToken: cancellationToken))).AsList();
    }

    public static Task InsertAsync(Database.Write write, FimUnlockRow row, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            $"insert into fim_rule_unlock ({Columns}) values (@UnlockId, @RuleId, @UnlockedFrom, @UnlockedUntil, @Reason, @UnlockedBy, @EndedBy)",
            row, write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Ends a window now (its end moves to <paramref name="now"/>).</summary>
    public static Task EndAsync(Database.Write write, string unlockId, DateTimeOffset now, string? endedBy, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            "update fim_rule_unlock set unlocked_until = @now, ended_by = @endedBy where unlock_id = @unlockId and unlocked_until > @now",
            new { unlockId, now, endedBy }, write.Transaction, cancellationToken: cancellationToken));
}

public sealed class FimRuleUnlockRequestValidator : AbstractValidator<FimRuleUnlockRequest>
{
    public FimRuleUnlockRequestValidator()
    {
        RuleFor(r => r.Reason).Must(reason => !string.IsNullOrWhiteSpace(reason)).WithMessage("'reason' must say why (it goes to the audit log).");
    }
}

public sealed class FimUnlockEndpoints(Database database, FimRuleStore rules, AuditLog audit, TimeProvider time) : FimUnlocksHandlersBase
{
    public override async Task<IResult> UnlockFimRule(HttpContext http, FimRuleUnlockRequest body, string ruleId, CancellationToken cancellationToken)
    {
        var caller = http.Caller();
        await using var write = await database.BeginWriteAsync(cancellationToken);
        // The rule-change lock: unlocks of one rule (and rule changes) take turns, so two at once leave one window open.
        await rules.LockAsync(write, cancellationToken);
        var rule = await FimRuleStore.FindAsync(write, ruleId, cancellationToken);
        if (rule is null)
            return Problems.NotFound($"FIM rule '{ruleId}' does not exist.");
        var spec = RuleSpecs.FromJson(rule.SpecJson);
        if (spec.Effect != FimEffect.Prevent)
            return Problems.Conflict($"FIM rule '{ruleId}' has effect '{SpecEnum.ToSpec(spec.Effect)}': only a 'prevent' rule has a protection to lift.");
        if (spec.Enabled == false)
            return Problems.Conflict($"FIM rule '{ruleId}' is disabled: it protects nothing to lift.");

        var now = time.GetUtcNow();
        var previous = await FimUnlockStore.OpenAsync(write, ruleId, now, cancellationToken);
        if (previous is not null)
            await FimUnlockStore.EndAsync(write, previous.UnlockId, now, caller.TokenId, cancellationToken);
        var window = new FimUnlockRow
        {
            UnlockId = Ids.New("unl"),
            RuleId = ruleId,
            UnlockedFrom = now,
            UnlockedUntil = now.AddMinutes(body.Minutes),
            Reason = body.Reason.Trim(),
            UnlockedBy = caller.TokenId,
        };
        await FimUnlockStore.InsertAsync(write, window, cancellationToken);
        // Who, why and until when; the window it replaced, if one was open.
        await audit.AppendAsync(write, caller, "fim-rule.unlock", "fim-rule", ruleId, previous?.ToContract(), window.ToContract(), cancellationToken);
        await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return TypedResults.Ok(window.ToContract());
    }

    public override async Task<IResult> LockFimRule(HttpContext http, string ruleId, CancellationToken cancellationToken)
    {
        var caller = http.Caller();
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await rules.LockAsync(write, cancellationToken);
        if (await FimRuleStore.FindAsync(write, ruleId, cancellationToken) is null)
            return Problems.NotFound($"FIM rule '{ruleId}' does not exist.");
        var now = time.GetUtcNow();
        if (await FimUnlockStore.OpenAsync(write, ruleId, now, cancellationToken) is { } open)
        {
            await FimUnlockStore.EndAsync(write, open.UnlockId, now, caller.TokenId, cancellationToken);
            var ended = new FimUnlockRow
            {
                UnlockId = open.UnlockId,
                RuleId = ruleId,
                UnlockedFrom = open.UnlockedFrom,
                UnlockedUntil = now,
                Reason = open.Reason,
                UnlockedBy = open.UnlockedBy,
                EndedBy = caller.TokenId,
            };
            await audit.AppendAsync(write, caller, "fim-rule.lock", "fim-rule", ruleId, open.ToContract(), ended.ToContract(), cancellationToken);
            await FimRuleStore.BumpGenerationAsync(write, cancellationToken);
            await write.CommitAsync(cancellationToken);
        }

        return TypedResults.NoContent();
    }
}

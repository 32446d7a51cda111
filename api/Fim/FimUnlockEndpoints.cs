using Platform.Api.Generated;

namespace Platform.Api.Fim;

/// <summary>Lifting a prevent rule's protection for a while, and putting it back (<see cref="FimRuleChanges"/> does both).</summary>
public sealed class FimUnlockEndpoints(FimRuleChanges changes) : FimUnlocksHandlersBase
{
    public override async Task<Results<Ok<FimRuleUnlock>, ProblemHttpResult>> UnlockFimRule(HttpContext http, FimRuleUnlockRequest body, string ruleId, CancellationToken cancellationToken)
    {
        var (window, refusal) = await changes.UnlockAsync(http.Caller(), ruleId, body.Minutes, body.Reason, cancellationToken);
        return window is null ? refusal!.Problem() : TypedResults.Ok(window.ToContract());
    }

    public override async Task<Results<NoContent, ProblemHttpResult>> LockFimRule(HttpContext http, string ruleId, CancellationToken cancellationToken) =>
        await changes.LockAsync(http.Caller(), ruleId, cancellationToken) is { } refusal ? refusal.Problem() : TypedResults.NoContent();

}

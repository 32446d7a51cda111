namespace Platform.Api.Fim;

/// <summary>One unlock window of a prevent rule, as stored (a record: ending a window is a copy <c>with</c> its end).</summary>
public sealed record FimUnlockRow
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

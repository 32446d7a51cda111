namespace Platform.Api.Telemetry;

public enum BatchOutcome
{
    Stored,
    Duplicate,
    Conflict,
}

/// <summary>
/// Missing sequence numbers <c>From</c>..<c>To</c>, between the batches received at <c>Before</c> and <c>After</c>,
/// whose events ended at <c>LastEventBefore</c> and started again at <c>FirstEventAfter</c>.
/// </summary>
public sealed record SequenceGap(long From, long To, DateTimeOffset? Before, DateTimeOffset? After, DateTimeOffset? LastEventBefore, DateTimeOffset? FirstEventAfter);

/// <summary>
/// A loss the agent reported (a <c>coverage_gap</c> event): from <c>From</c> to <c>Until</c>, of <c>ContainerId</c> ("" for
/// the host: a sensor's loss is the whole node's), event <c>Ordinal</c> of the batch numbered <c>Sequence</c> (0 until stored).
/// </summary>
public sealed record ReportedGap(long Sequence, int Ordinal, string EventId, string ContainerId, Platform.Contracts.CoverageGapReason Reason, DateTimeOffset From, DateTimeOffset Until, long? LostEvents)
{
    public ReportedGap(int ordinal, string eventId, string containerId, Platform.Contracts.CoverageGapReason reason, DateTimeOffset from, DateTimeOffset until, long? lostEvents)
        : this(0, ordinal, eventId, containerId, reason, from, until, lostEvents)
    {
    }
}

public sealed record BatchResult(BatchOutcome Outcome, string? Conflict = null, SequenceGap? Gap = null);

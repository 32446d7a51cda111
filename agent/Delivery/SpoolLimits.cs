namespace Platform.Agent.Delivery;

/// <summary>Bounds of one spool queue.</summary>
public sealed record SpoolLimits
{
    /// <summary>A segment file is closed and a new one begun past this size.</summary>
    public long SegmentBytes { get; init; } = 1 << 20;

    /// <summary>A record larger than this is refused when written and taken for corruption when read.</summary>
    public int MaxRecordBytes { get; init; } = 1 << 20;
}

namespace Platform.Api.Telemetry;

/// <summary>What a stored segment is, without its data.</summary>
public class SegmentRow
{
    public required string SegmentId { get; init; }
    public required string AgentId { get; init; }
    public required string ContainerId { get; init; }
    public required DateTimeOffset FirstTime { get; init; }
    public required DateTimeOffset LastTime { get; init; }
    public required int EventCount { get; init; }
    public required int Kinds { get; init; }
    public required long RawBytes { get; init; }
    public required long StoredBytes { get; init; }
}

/// <summary>The segments of a window, summed up: see <see cref="TelemetryStore.WindowAsync"/>.</summary>
public sealed class SegmentWindow
{
    public required long Segments { get; init; }
    public required long Events { get; init; }
    public required long StoredBytes { get; init; }
    public required string FirstId { get; init; }
    public required string LastId { get; init; }
}

/// <summary>A segment listed with its stored (compressed) data, decompressed when a reader gets to it.</summary>
public sealed class StoredSegment : SegmentRow
{
    public required byte[] Events { get; init; }
    public required byte[] Timeline { get; init; }
    public required byte[] Times { get; init; }

    public SegmentContent Open() => new(Events, checked((int)RawBytes), Timeline, Times);
}

/// <summary>
/// Which segments: of a host (its containers included) or of one of its containers; optionally only those holding a
/// kind of event. A container is always one agent's: the same container id reported by two agents is two resources,
/// so there is no filter by container id alone (an agent could otherwise plant events in another's container).
/// </summary>
public sealed record SegmentFilter(string AgentId, string? ContainerId, int KindBits = 0);

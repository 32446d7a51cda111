namespace Platform.Agent.Delivery;

/// <summary>Records sent together: always the same ones, with the same id and sequence, until acknowledged.</summary>
public sealed record SpoolBatch(string Id, long Sequence, IReadOnlyList<byte[]> Records, long EndSegment, long EndOffset);

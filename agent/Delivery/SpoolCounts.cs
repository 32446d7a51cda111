namespace Platform.Agent.Delivery;

/// <summary>What a queue holds and has lost, for the heartbeat.</summary>
public sealed record SpoolCounts(long Records, long Bytes, long DroppedRecords, long QuarantinedRegions, long QuarantinedBytes);

namespace Platform.Api.Telemetry;

public sealed partial class TelemetryStore
{
    /// <summary>A stored segment and the batch it came from (detection reads flight data batch by batch).</summary>
    public sealed class BatchSegment
    {
        public required long Sequence { get; init; }
        public required string ContainerId { get; init; }
        public required long RawBytes { get; init; }
        public required byte[] Events { get; init; }
        public required byte[] Timeline { get; init; }
        public required byte[] Times { get; init; }

        public SegmentContent Open() => new(Events, checked((int)RawBytes), Timeline, Times);
    }

    private const string BatchSegmentColumns = "sequence, container_id, raw_bytes, events, timeline, times";

    /// <summary>The segments of these batches of an agent, by batch.</summary>
    public async Task<IReadOnlyList<BatchSegment>> SegmentsOfBatchesAsync(string agentId, IReadOnlyList<long> sequences, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<BatchSegment>(new CommandDefinition(
            $"select {BatchSegmentColumns} from telemetry_segment where agent_id = @agentId and sequence {database.IsIn("sequences")} order by sequence, segment_id",
            new { agentId, sequences = sequences.ToArray() }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>When the events of an agent's batch start (its receipt says), or null if there is no such batch.</summary>
    public async Task<DateTimeOffset?> BatchStartAsync(string agentId, long sequence, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<DateTimeOffset?>(new CommandDefinition(
            "select first_time from telemetry_batch where agent_id = @agentId and sequence = @sequence", new { agentId, sequence }, cancellationToken: cancellationToken));
    }

    /// <summary>The segments of an agent's batches before <paramref name="beforeSequence"/> whose events reach <paramref name="from"/> (context for detection), at most <paramref name="take"/> batches' worth.</summary>
    public async Task<IReadOnlyList<BatchSegment>> SegmentsBeforeAsync(string agentId, long beforeSequence, DateTimeOffset from, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<BatchSegment>(new CommandDefinition(
            $"""
            select {BatchSegmentColumns} from telemetry_segment
            where agent_id = @agentId and sequence in (
                select sequence from telemetry_batch where agent_id = @agentId and sequence < @beforeSequence and last_time >= @from order by sequence desc limit @take)
            order by sequence, segment_id
            """,
            new { agentId, beforeSequence, from, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>When the events of an agent's batch start and end, or null if there is no such batch.</summary>
    public async Task<(DateTimeOffset First, DateTimeOffset Last)?> BatchSpanAsync(string agentId, long sequence, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<(DateTimeOffset, DateTimeOffset)>(new CommandDefinition(
            "select first_time, last_time from telemetry_batch where agent_id = @agentId and sequence = @sequence", new { agentId, sequence }, cancellationToken: cancellationToken)))
            .Select(span => ((DateTimeOffset, DateTimeOffset)?)span).FirstOrDefault();
    }

    /// <summary>
    /// The segments of an agent's batches (any sequence) whose events reach into <paramref name="from"/>..<paramref name="until"/>:
    /// at most <paramref name="take"/> batches, those nearest <paramref name="sequence"/> (detection looking again around a late batch).
    /// </summary>
    public async Task<IReadOnlyList<BatchSegment>> SegmentsAroundAsync(string agentId, long sequence, DateTimeOffset from, DateTimeOffset until, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<BatchSegment>(new CommandDefinition(
            $"""
            select {BatchSegmentColumns} from telemetry_segment
            where agent_id = @agentId and sequence in (
                select sequence from telemetry_batch where agent_id = @agentId and last_time >= @from and first_time <= @until
                order by abs(sequence - @sequence), sequence limit @take)
            order by sequence, segment_id
            """,
            new { agentId, sequence, from, until, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>The highest sequence of an agent's batches that are stored and no longer wait for detection (0: none).</summary>
    public async Task<long> HighestDetectedAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteScalarAsync<long?>(new CommandDefinition(
            """
            select sequence from telemetry_batch b where agent_id = @agentId
            and not exists (select 1 from detection_queue q where q.agent_id = b.agent_id and q.sequence = b.sequence)
            order by sequence desc limit 1
            """, new { agentId }, cancellationToken: cancellationToken)) ?? 0;
    }
}

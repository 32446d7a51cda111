namespace Platform.Api.Telemetry;

public sealed partial class TelemetryStore
{
    /// <summary>The agent's coverage gaps from the one starting after <paramref name="afterSequence"/>, oldest first.</summary>
    public async Task<IReadOnlyList<SequenceGap>> GapsAsync(string agentId, long afterSequence, int take, CancellationToken cancellationToken)
    {
        // Each receipt and the next one: where they are not consecutive, the numbers between are missing.
        // Sequence 0 stands for "before the first batch", so that a first batch numbered above 1 shows a gap.
        var none = database.Provider == StorageProvider.Postgres ? "cast(null as timestamptz)" : "null";
        var sql = $"""
            select sequence + 1 as "From", next_sequence - 1 as "To", received_at as "Before", next_received_at as "After",
                   last_time as "LastEventBefore", next_first_time as "FirstEventAfter"
            from (
                select sequence, received_at, last_time,
                       lead(sequence) over (order by sequence) as next_sequence,
                       lead(received_at) over (order by sequence) as next_received_at,
                       lead(first_time) over (order by sequence) as next_first_time
                from (select 0 as sequence, {none} as received_at, {none} as first_time, {none} as last_time
                      union all
                      select sequence, received_at, first_time, last_time from telemetry_batch where agent_id = @agentId) receipts
            ) neighbours
            where next_sequence > sequence + 1 and sequence + 1 > @afterSequence
            order by sequence
            limit @take
            """;
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<GapRow>(new CommandDefinition(sql, new { agentId, afterSequence, take }, cancellationToken: cancellationToken)))
            .Select(g => new SequenceGap(g.From, g.To, g.Before, g.After, g.LastEventBefore, g.FirstEventAfter)).ToList();
    }

    /// <summary>The gaps the agent reported after event <paramref name="afterOrdinal"/> of batch <paramref name="afterSequence"/>, by batch and place in it.</summary>
    public async Task<IReadOnlyList<ReportedGap>> ReportedGapsAsync(string agentId, long afterSequence, int afterOrdinal, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<ReportedGapRow>(new CommandDefinition(
            $"""
            select {ReportedGapColumns} from telemetry_reported_gap
            where agent_id = @agentId and (sequence > @afterSequence or (sequence = @afterSequence and ordinal > @afterOrdinal))
            order by sequence, ordinal
            limit @take
            """, new { agentId, afterSequence, afterOrdinal, take }, cancellationToken: cancellationToken))).Select(r => r.ToGap()).ToList();
    }

    /// <summary>
    /// The gaps the agent reported that overlap <paramref name="from"/>..<paramref name="until"/> (inclusive): the host's, or a
    /// container's and the host's (a loss of the node's sensor is a loss in each of its containers), by batch and place in it.
    /// </summary>
    public async Task<IReadOnlyList<ReportedGap>> ReportedGapsAsync(string agentId, string? containerId, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        // Widened as the segments' bounds are (PostgreSQL keeps microseconds, events keep ticks).
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<ReportedGapRow>(new CommandDefinition(
            $"""
            select {ReportedGapColumns} from telemetry_reported_gap
            where agent_id = @agentId and until_time >= @from and from_time <= @until{(containerId is null ? "" : " and container_id in ('', @containerId)")}
            order by sequence, ordinal
            """, new { agentId, containerId, from = from.AddTicks(-10), until = until.AddTicks(10) }, cancellationToken: cancellationToken))).Select(r => r.ToGap()).ToList();
    }

    private sealed class ReportedGapRow
    {
        public long Sequence { get; init; }
        public int Ordinal { get; init; }
        public required string EventId { get; init; }
        public required string ContainerId { get; init; }
        public required string Reason { get; init; }
        public DateTimeOffset FromTime { get; init; }
        public DateTimeOffset UntilTime { get; init; }
        public long? LostEvents { get; init; }

        public ReportedGap ToGap() => new(Sequence, Ordinal, EventId, ContainerId, Http.SpecEnum.FromSpec<Platform.Contracts.CoverageGapReason>(Reason), FromTime, UntilTime, LostEvents);
    }

    private sealed class GapRow
    {
        public long From { get; init; }
        public long To { get; init; }
        public DateTimeOffset? Before { get; init; }
        public DateTimeOffset? After { get; init; }
        public DateTimeOffset? LastEventBefore { get; init; }
        public DateTimeOffset? FirstEventAfter { get; init; }
    }
}

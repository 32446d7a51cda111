using System.Runtime.CompilerServices;
using System.Data.Common;
using Dapper;
using Platform.Api.Storage;

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

/// <summary>
/// Which segments: of a host (its containers included) or of one of its containers; optionally only those holding a
/// kind of event. A container is always one agent's: the same container id reported by two agents is two resources,
/// so there is no filter by container id alone (an agent could otherwise plant events in another's container).
/// </summary>
public sealed record SegmentFilter(string AgentId, string? ContainerId, int KindBits = 0);

/// <summary>
/// Flight data storage: batch receipts (idempotency and coverage gaps), segments (one row per batch and
/// resource, see <see cref="Segment"/>) and the agents' inventories.
/// </summary>
public sealed class TelemetryStore(Database database, Incidents.DetectionOptions detection) : IAsyncDisposable
{
    private const string SegmentColumns = "segment_id, agent_id, container_id, first_time, last_time, event_count, kinds, raw_bytes, stored_bytes";

    /// <summary>A segment's columns with its data (<see cref="StoredSegment"/>).</summary>
    private const string StoredSegmentColumns = SegmentColumns + ", events, timeline, times";

    /// <summary>
    /// Stores a batch once: its receipt and its segments, or nothing if it was received before. Returns when it
    /// is committed. Batches are committed in groups (group commit): one writer takes every batch waiting and
    /// writes them in one transaction, so the part of ingest that cannot run in parallel (SQLite has one writer)
    /// is one short transaction for many batches, not one for each (and PostgreSQL flushes its log once a group).
    /// </summary>
    public Task<BatchResult> IngestAsync(string agentId, string batchId, long sequence, IReadOnlyList<Segment> segments, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new IncomingBatch(agentId, batchId, sequence, segments, receivedAt), cancellationToken);

    private const int GroupLimit = 64;

    /// <summary>
    /// SQLite has one writer. PostgreSQL takes several transactions at once: two writers, so that one group
    /// is gathered while the other is on its round trip. (More made smaller groups and no more throughput:
    /// measured 217k-249k events/s with four, 246k-260k with two, bench/run.sh suite=telemetry.)
    /// </summary>
    private GroupCommit<IncomingBatch, BatchResult> Writer
    {
        get
        {
            if (field is null)
                Interlocked.CompareExchange(ref field, new(database.Provider == StorageProvider.Postgres ? 2 : 1, GroupLimit, WriteGroupAsync), null);
            return field;
        }
    }

    private sealed record IncomingBatch(string AgentId, string BatchId, long Sequence, IReadOnlyList<Segment> Segments, DateTimeOffset ReceivedAt);

    /// <summary>Lets the batches already taken be committed before the application stops.</summary>
    public ValueTask DisposeAsync() => Writer.DisposeAsync();

    private async Task<List<BatchResult>> WriteGroupAsync(IReadOnlyList<IncomingBatch> batches)
    {
        await using var write = await database.BeginGroupWriteAsync(CancellationToken.None);
        if (write.Db is Npgsql.NpgsqlConnection postgres)
            return await WriteGroupAsync(postgres, batches);

        var results = new List<BatchResult>(batches.Count);
        foreach (var batch in batches)
            results.Add(await WriteBatchAsync(write, batch, detection.Enabled, CancellationToken.None));
        await write.CommitAsync(CancellationToken.None);
        return results;
    }

    private const string InsertReceipt = """
        insert into telemetry_batch (agent_id, sequence, batch_id, event_count, received_at, first_time, last_time)
        values (@agentId, @sequence, @batchId, @eventCount, @receivedAt, @firstTime, @lastTime)
        on conflict do nothing
        """;

    private const string PreviousReceipt =
        "select sequence, received_at, last_time from telemetry_batch where agent_id = @agentId and sequence < @sequence order by sequence desc limit 1";

    private static async Task<BatchResult> WriteBatchAsync(Database.Write write, IncomingBatch batch, bool detect, CancellationToken cancellationToken)
    {
        var receipt = Receipt.Of(batch);
        var inserted = await write.Db.ExecuteAsync(new CommandDefinition(InsertReceipt, receipt, write.Transaction, cancellationToken: cancellationToken));
        if (inserted == 0)
            return await RefusalAsync(write.Db, write.Transaction, batch);

        var previous = await write.Db.QuerySingleOrDefaultAsync<ReceiptRow>(new CommandDefinition(PreviousReceipt, receipt, write.Transaction, cancellationToken: cancellationToken));
        var ids = Ids.New("seg", batch.Segments.Count);
        await write.Db.ExecuteAsync(new CommandDefinition(
            $"""
            insert into telemetry_segment ({StoredSegmentColumns}, sequence)
            values (@segmentId, @agentId, @containerId, @firstTime, @lastTime, @eventCount, @kinds, @rawBytes, @storedBytes, @events, @timeline, @times, @sequence)
            """,
            batch.Segments.Select((s, i) => new
            {
                segmentId = ids[i], agentId = batch.AgentId, sequence = batch.Sequence, containerId = s.ContainerId, firstTime = s.FirstTime, lastTime = s.LastTime, eventCount = s.EventCount,
                kinds = s.Kinds, rawBytes = s.RawBytes, storedBytes = s.StoredBytes, events = s.Data, timeline = Segment.NoSeparateTimeline, times = s.Times,
            }), write.Transaction, cancellationToken: cancellationToken));
        if (batch.Segments.Any(s => s.Gaps.Count > 0))
        {
            await write.Db.ExecuteAsync(new CommandDefinition(InsertReportedGap,
                batch.Segments.SelectMany(s => s.Gaps).Select(g => new
                {
                    agentId = batch.AgentId, sequence = batch.Sequence, ordinal = g.Ordinal, eventId = g.EventId, containerId = g.ContainerId,
                    reason = Http.SpecEnum.ToSpec(g.Reason), fromTime = g.From, untilTime = g.Until, lostEvents = g.LostEvents,
                }), write.Transaction, cancellationToken: cancellationToken));
        }

        if (detect)
            await write.Db.ExecuteAsync(new CommandDefinition(QueueForDetection, receipt, write.Transaction, cancellationToken: cancellationToken));

        return new BatchResult(BatchOutcome.Stored, Gap: GapBefore(batch, previous));
    }

    private const string ReportedGapColumns = "agent_id, sequence, ordinal, event_id, container_id, reason, from_time, until_time, lost_events";

    private const string InsertReportedGap = $"""
        insert into telemetry_reported_gap ({ReportedGapColumns})
        values (@agentId, @sequence, @ordinal, @eventId, @containerId, @reason, @fromTime, @untilTime, @lostEvents)
        """;

    /// <summary>A stored batch waits for detection (Incidents/IncidentDetector) in the transaction that stored it.</summary>
    private const string QueueForDetection = "insert into detection_queue (agent_id, sequence) values (@agentId, @sequence)";

    /// <summary>
    /// PostgreSQL, one statement a batch: its receipt, the receipt before it (for gaps) and, only if the receipt
    /// is new, its segments. (A CTE's select sees the table as it was before the statement: the new receipt is
    /// not its own "previous".)
    /// </summary>
    private const string StoreBatch = $"""
        with receipt as (
            {InsertReceipt}
            returning 1
        ), previous as (
            {PreviousReceipt}
        ), queued as (
            insert into detection_queue (agent_id, sequence) select @agentId, @sequence where @detect and exists (select from receipt)
        ), segments as (
            insert into telemetry_segment ({StoredSegmentColumns}, sequence)
            select s.segment_id, @agentId, s.container_id, s.first_time, s.last_time, s.event_count, s.kinds, s.raw_bytes, s.stored_bytes, s.events, @noSeparateTimeline, s.times, @sequence
            from unnest(@segmentIds, @containerIds, @firstTimes, @lastTimes, @eventCounts, @kindBits, @rawBytes, @storedBytes, @events, @times)
                as s(segment_id, container_id, first_time, last_time, event_count, kinds, raw_bytes, stored_bytes, events, times)
            where exists (select from receipt)
        ), reported as (
            insert into telemetry_reported_gap ({ReportedGapColumns})
            select @agentId, @sequence, g.ordinal, g.event_id, g.container_id, g.reason, g.from_time, g.until_time, g.lost_events
            from unnest(@gapOrdinals, @gapEventIds, @gapContainerIds, @gapReasons, @gapFroms, @gapUntils, @gapLostEvents)
                as g(ordinal, event_id, container_id, reason, from_time, until_time, lost_events)
            where exists (select from receipt)
        )
        select exists (select from receipt), p.sequence, p.received_at, p.last_time
        from (select) as one left join previous p on true
        """;

    /// <summary>
    /// PostgreSQL: the whole group in one round trip, a statement a batch (<see cref="StoreBatch"/>), sent as one
    /// batch without a transaction of its own: PostgreSQL runs the statements before a Sync as one implicit
    /// transaction, so the group is committed, or not, as a whole, with its reply. (Receipts, then a COPY of the
    /// segments, then the commit took four round trips, and the time went to waiting for them.)
    /// </summary>
    private async Task<List<BatchResult>> WriteGroupAsync(Npgsql.NpgsqlConnection db, IReadOnlyList<IncomingBatch> batches)
    {
        await using var statements = new Npgsql.NpgsqlBatch(db);
        foreach (var batch in batches)
        {
            var receipt = Receipt.Of(batch);
            var segments = batch.Segments;
            var gaps = segments.SelectMany(s => s.Gaps).ToArray();
            statements.BatchCommands.Add(new Npgsql.NpgsqlBatchCommand(StoreBatch)
            {
                Parameters =
                {
                    new("agentId", receipt.agentId), new("sequence", receipt.sequence), new("batchId", receipt.batchId), new("eventCount", receipt.eventCount),
                    new("receivedAt", receipt.receivedAt), new("firstTime", receipt.firstTime), new("lastTime", receipt.lastTime),
                    new("segmentIds", Ids.New("seg", segments.Count)),
                    new("containerIds", segments.Select(s => s.ContainerId).ToArray()),
                    new("firstTimes", segments.Select(s => s.FirstTime).ToArray()),
                    new("lastTimes", segments.Select(s => s.LastTime).ToArray()),
                    new("eventCounts", segments.Select(s => s.EventCount).ToArray()),
                    new("kindBits", segments.Select(s => s.Kinds).ToArray()),
                    new("rawBytes", segments.Select(s => s.RawBytes).ToArray()),
                    new("storedBytes", segments.Select(s => s.StoredBytes).ToArray()),
                    new("events", segments.Select(s => s.Data).ToArray()),
                    new("noSeparateTimeline", Segment.NoSeparateTimeline),
                    new("times", segments.Select(s => s.Times).ToArray()),
                    new("detect", detection.Enabled),
                    new("gapOrdinals", gaps.Select(g => g.Ordinal).ToArray()),
                    new("gapEventIds", gaps.Select(g => g.EventId).ToArray()),
                    new("gapContainerIds", gaps.Select(g => g.ContainerId).ToArray()),
                    new("gapReasons", gaps.Select(g => Http.SpecEnum.ToSpec(g.Reason)).ToArray()),
                    new("gapFroms", gaps.Select(g => g.From).ToArray()),
                    new("gapUntils", gaps.Select(g => g.Until).ToArray()),
                    new("gapLostEvents", gaps.Select(g => g.LostEvents).ToArray()),
                },
            });
        }

        var outcomes = new (bool Stored, ReceiptRow? Previous)[batches.Count];
        await using (var reader = await statements.ExecuteReaderAsync())
        {
            for (var i = 0; i < batches.Count; i++)
            {
                if (!await reader.ReadAsync())
                    throw new InvalidOperationException("A batch's statement returned no row.");
                outcomes[i] = (reader.GetBoolean(0), reader.IsDBNull(1) ? null
                    : new ReceiptRow { Sequence = reader.GetInt64(1), ReceivedAt = reader.GetFieldValue<DateTimeOffset>(2), LastTime = reader.GetFieldValue<DateTimeOffset>(3) });
                await reader.NextResultAsync();
            }
        }

        var results = new List<BatchResult>(batches.Count);
        for (var i = 0; i < batches.Count; i++)
        {
            results.Add(outcomes[i].Stored
                ? new BatchResult(BatchOutcome.Stored, Gap: GapBefore(batches[i], outcomes[i].Previous))
                : await RefusalAsync(db, null, batches[i]));
        }

        return results;
    }

    /// <summary>A batch whose receipt is there already: a replay (same id and sequence), or a clash with another batch.</summary>
    private static async Task<BatchResult> RefusalAsync(DbConnection db, DbTransaction? transaction, IncomingBatch batch)
    {
        var earlier = (await db.QueryAsync<(long Sequence, string BatchId)>(new CommandDefinition(
            "select sequence, batch_id from telemetry_batch where agent_id = @agentId and (sequence = @sequence or batch_id = @batchId)",
            new { agentId = batch.AgentId, sequence = batch.Sequence, batchId = batch.BatchId }, transaction))).AsList();
        if (earlier.Any(b => b.Sequence == batch.Sequence && b.BatchId == batch.BatchId))
            return new BatchResult(BatchOutcome.Duplicate);
        return new BatchResult(BatchOutcome.Conflict, earlier.Any(b => b.Sequence == batch.Sequence)
            ? $"Sequence number {batch.Sequence} belongs to another batch of this agent."
            : $"Batch id '{batch.BatchId}' was sent before with another sequence number.");
    }

    /// <summary>The numbers skipped between the agent's previous batch and this one, if any.</summary>
    private static SequenceGap? GapBefore(IncomingBatch batch, ReceiptRow? previous)
    {
        var expected = (previous?.Sequence ?? 0) + 1;
        return batch.Sequence > expected
            ? new SequenceGap(expected, batch.Sequence - 1, previous?.ReceivedAt, batch.ReceivedAt, previous?.LastTime, batch.Segments.Min(s => s.FirstTime))
            : null;
    }

    /// <summary>A batch's receipt row (Dapper parameters).</summary>
    private sealed record Receipt(string agentId, long sequence, string batchId, int eventCount, DateTimeOffset receivedAt, DateTimeOffset firstTime, DateTimeOffset lastTime)
    {
        public static Receipt Of(IncomingBatch batch) => new(batch.AgentId, batch.Sequence, batch.BatchId, batch.Segments.Sum(s => s.EventCount), batch.ReceivedAt,
            batch.Segments.Min(s => s.FirstTime), batch.Segments.Max(s => s.LastTime));
    }

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

    private sealed class ReceiptRow
    {
        public long Sequence { get; init; }
        public DateTimeOffset ReceivedAt { get; init; }
        public DateTimeOffset LastTime { get; init; }
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

    private sealed class InventoryRow
    {
        public DateTimeOffset ReportedAt { get; init; }
        public required string InventoryJson { get; init; }
    }

    /// <summary>Segments newest first (by their last event), in chunks, as long as the caller keeps reading.</summary>
    public async IAsyncEnumerable<SegmentRow> NewestFirstAsync(SegmentFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int chunk = 32;
        DateTimeOffset? beforeTime = null;
        string? beforeId = null;
        while (true)
        {
            var rows = await QuerySegmentsAsync<SegmentRow>(SegmentColumns, filter, $"""
                {(beforeTime is null ? "1 = 1" : "(last_time < @beforeTime or (last_time = @beforeTime and segment_id < @beforeId))")}
                order by last_time desc, segment_id desc
                """, new { beforeTime, beforeId }, chunk, cancellationToken);
            foreach (var row in rows)
                yield return row;
            if (rows.Count < chunk)
                yield break;
            (beforeTime, beforeId) = (rows[^1].LastTime, rows[^1].SegmentId);
        }
    }

    /// <summary>
    /// Segments that may hold events at or after <paramref name="from"/> and before <paramref name="until"/>,
    /// ordered by their first event, in chunks, as long as the caller keeps reading.
    /// </summary>
    public IAsyncEnumerable<SegmentRow> OldestFirstAsync(SegmentFilter filter, DateTimeOffset? from, DateTimeOffset? until, CancellationToken cancellationToken) =>
        OldestFirstAsync<SegmentRow>(SegmentColumns, filter, from, until, cancellationToken);

    /// <summary>
    /// <see cref="OldestFirstAsync(SegmentFilter, DateTimeOffset?, DateTimeOffset?, CancellationToken)"/> with each
    /// segment's data, for readers that go through them in that order: one query for many segments, not one each.
    /// </summary>
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

    public IAsyncEnumerable<StoredSegment> OldestFirstWithDataAsync(SegmentFilter filter, DateTimeOffset? from, DateTimeOffset? until, CancellationToken cancellationToken) =>
        OldestFirstAsync<StoredSegment>(StoredSegmentColumns, filter, from, until, cancellationToken);

    private async IAsyncEnumerable<T> OldestFirstAsync<T>(string columns, SegmentFilter filter, DateTimeOffset? from, DateTimeOffset? until, [EnumeratorCancellation] CancellationToken cancellationToken)
        where T : SegmentRow
    {
        const int chunk = 64;
        // PostgreSQL keeps microseconds, events keep ticks: widen the bounds by a microsecond and let the
        // reader judge each event by its exact time.
        from = from?.AddTicks(-10);
        until = until?.AddTicks(10);
        DateTimeOffset? afterTime = null;
        string? afterId = null;
        while (true)
        {
            var rows = await QuerySegmentsAsync<T>(columns, filter, $"""
                {(afterTime is null ? "1 = 1" : "(first_time > @afterTime or (first_time = @afterTime and segment_id > @afterId))")}
                {(until is null ? "" : "and first_time < @until")}
                {(from is null ? "" : "and last_time >= @from")}
                order by first_time, segment_id
                """, new { from, until, afterTime, afterId }, chunk, cancellationToken);
            foreach (var row in rows)
                yield return row;
            if (rows.Count < chunk)
                yield break;
            (afterTime, afterId) = (rows[^1].FirstTime, rows[^1].SegmentId);
        }
    }

    /// <summary>
    /// Only the conditions that apply, so that the planner can use the (resource, time) indexes: an
    /// "(@x is null or column = @x)" would make every page a scan of the whole table.
    /// </summary>
    private static string Resource(SegmentFilter filter) =>
        filter.ContainerId is null ? "agent_id = @agentId" : "agent_id = @agentId and container_id = @containerId";

    /// <summary>
    /// What identifies the segments of a window, in one aggregate over the (resource, time) index instead of a row each:
    /// segments are never changed once stored, only added (new or late ones get newer ids) and removed by retention,
    /// and either changes the count, the sums or the newest id.
    /// </summary>
    public async Task<SegmentWindow> WindowAsync(SegmentFilter filter, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        // Widened as OldestFirstAsync widens them (PostgreSQL keeps microseconds, events keep ticks).
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleAsync<SegmentWindow>(new CommandDefinition($"""
            select count(*) as segments, cast(coalesce(sum(event_count), 0) as bigint) as events,
                   cast(coalesce(sum(stored_bytes), 0) as bigint) as stored_bytes,
                   coalesce(cast(min(segment_id) as text), '') as first_id, coalesce(cast(max(segment_id) as text), '') as last_id
            from telemetry_segment
            where {Resource(filter)} and first_time < @until and last_time >= @from
            """,
            new { agentId = filter.AgentId, containerId = filter.ContainerId, from = from.AddTicks(-10), until = until.AddTicks(10) }, cancellationToken: cancellationToken));
    }

    private async Task<List<T>> QuerySegmentsAsync<T>(string columns, SegmentFilter filter, string conditionAndOrder, object parameters, int take, CancellationToken cancellationToken)
    {
        var sql = $"""
            select {columns} from telemetry_segment
            where {Resource(filter)}{(filter.KindBits == 0 ? "" : " and (kinds & @kindBits) <> 0")}
              and {conditionAndOrder}
            limit @take
            """;
        var arguments = new DynamicParameters(parameters);
        arguments.AddDynamicParams(new { agentId = filter.AgentId, containerId = filter.ContainerId, kindBits = filter.KindBits, take });
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<T>(new CommandDefinition(sql, arguments, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>Reads segments' events over one connection, for readers that go through many segments.</summary>
    public async Task<ContentReader> ContentReaderAsync(CancellationToken cancellationToken) => new(await database.OpenAsync(cancellationToken));

    public sealed class ContentReader(DbConnection db) : IAsyncDisposable
    {
        /// <summary>A segment's events, decompressed; null if it has gone (rolled out of retention) since it was listed.</summary>
        public async Task<SegmentContent?> ReadAsync(string segmentId, CancellationToken cancellationToken)
        {
            var row = await db.QuerySingleOrDefaultAsync<StoredSegment>(new CommandDefinition(
                $"select {StoredSegmentColumns} from telemetry_segment where segment_id = @segmentId", new { segmentId }, cancellationToken: cancellationToken));
            return row?.Open();
        }

        public ValueTask DisposeAsync() => db.DisposeAsync();
    }

    /// <summary>One segment's events, decompressed; null if it has gone since it was listed.</summary>
    public async Task<SegmentContent?> ContentAsync(string segmentId, CancellationToken cancellationToken)
    {
        await using var reader = await ContentReaderAsync(cancellationToken);
        return await reader.ReadAsync(segmentId, cancellationToken);
    }

    public async Task ReplaceInventoryAsync(string agentId, DateTimeOffset reportedAt, Platform.Contracts.InventoryReport inventory, CancellationToken cancellationToken)
    {
        var inventoryJson = System.Text.Json.JsonSerializer.Serialize(inventory, Segments.Json);
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await write.Db.ExecuteAsync(new CommandDefinition(
            """
            insert into agent_inventory (agent_id, reported_at, inventory_json) values (@agentId, @reportedAt, @inventoryJson)
            on conflict (agent_id) do update set reported_at = excluded.reported_at, inventory_json = excluded.inventory_json
            """, new { agentId, reportedAt, inventoryJson }, write.Transaction, cancellationToken: cancellationToken));
        await write.CommitAsync(cancellationToken);
    }

    /// <summary>The agent's last inventory, or empty lists (and no time) if it never reported one.</summary>
    public async Task<(DateTimeOffset? ReportedAt, Platform.Contracts.InventoryReport Inventory)> InventoryAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var row = await db.QuerySingleOrDefaultAsync<InventoryRow>(new CommandDefinition(
            "select reported_at, inventory_json from agent_inventory where agent_id = @agentId", new { agentId }, cancellationToken: cancellationToken));
        return row is null
            ? (null, new Platform.Contracts.InventoryReport { Containers = [], Images = [] })
            : (row.ReportedAt, System.Text.Json.JsonSerializer.Deserialize<Platform.Contracts.InventoryReport>(row.InventoryJson, Segments.Json)!);
    }
}

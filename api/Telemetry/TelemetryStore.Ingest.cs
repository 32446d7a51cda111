namespace Platform.Api.Telemetry;

public sealed partial class TelemetryStore
{
    /// <summary>
    /// Stores a batch once: its receipt and its segments, or nothing if it was received before. Returns when it
    /// is committed. Batches are committed in groups (group commit): one writer takes every batch waiting and
    /// writes them in one transaction, so the part of ingest that cannot run in parallel (SQLite has one writer)
    /// is one short transaction for many batches, not one for each (and PostgreSQL flushes its log once a group).
    /// </summary>
    public Task<BatchResult> IngestAsync(string agentId, string batchId, long sequence, IReadOnlyList<Segment> segments, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        Writer.WriteAsync(new IncomingBatch(agentId, batchId, sequence, segments, receivedAt), cancellationToken);

    private const int GroupLimit = 64;

    /// <summary>Batches waiting for the group commit's writer.</summary>
    public int WaitingBatches => Writer.Waiting;

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

    private sealed class ReceiptRow
    {
        public long Sequence { get; init; }
        public DateTimeOffset ReceivedAt { get; init; }
        public DateTimeOffset LastTime { get; init; }
    }
}

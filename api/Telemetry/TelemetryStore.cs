using System.Runtime.CompilerServices;

namespace Platform.Api.Telemetry;

/// <summary>
/// Flight data storage: batch receipts (idempotency and coverage gaps), segments (one row per batch and
/// resource, see <see cref="Segment"/>) and the agents' inventories.
/// </summary>
public sealed partial class TelemetryStore(Database database, Incidents.DetectionOptions detection) : IAsyncDisposable
{
    private const string SegmentColumns = "segment_id, agent_id, container_id, first_time, last_time, event_count, kinds, raw_bytes, stored_bytes";

    /// <summary>A segment's columns with its data (<see cref="StoredSegment"/>).</summary>
    private const string StoredSegmentColumns = SegmentColumns + ", events, timeline, times";

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
}

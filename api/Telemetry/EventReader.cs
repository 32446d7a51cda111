using System.Runtime.CompilerServices;

namespace Platform.Api.Telemetry;

/// <summary>Where an event is in the recorder's order: its time, then its segment, then its place in the segment.</summary>
public readonly record struct EventPosition(long Ticks, string SegmentId, int Index) : IComparable<EventPosition>
{
    public int CompareTo(EventPosition other)
    {
        var byTime = Ticks.CompareTo(other.Ticks);
        if (byTime != 0)
            return byTime;
        var bySegment = string.CompareOrdinal(SegmentId, other.SegmentId);
        return bySegment != 0 ? bySegment : Index.CompareTo(other.Index);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Ticks}:{SegmentId}:{Index}");
}

/// <summary>An event read back, with its position; its JSON and timeline line are as stored.</summary>
public readonly record struct StoredEvent(EventPosition Position, SegmentContent Segment)
{
    public ReadOnlyMemory<byte> Json => Segment.EventJson(Position.Index);

    public ReadOnlyMemory<byte> TimelineLine => Segment.TimelineLine(Position.Index);

    public TelemetryEvent Event() => Segment.Event(Position.Index);
}

/// <summary>
/// Reads events back in time order across segments. Segments of one resource may overlap in time (a host's
/// batches hold several containers, and agents may send late), so this merges them, holding only the
/// segments that overlap the point it has reached.
/// </summary>
public sealed class EventReader(TelemetryStore store)
{
    /// <summary>The <paramref name="count"/> most recent events, oldest first, and whether there are older ones.</summary>
    public async Task<(IReadOnlyList<StoredEvent> Events, bool OlderExist)> NewestAsync(SegmentFilter filter, int count, CancellationToken cancellationToken)
    {
        var kept = new List<StoredEvent>();
        var older = false;
        await using var contents = await store.ContentReaderAsync(cancellationToken);
        await foreach (var segment in store.NewestFirstAsync(filter, cancellationToken))
        {
            // Segments come newest last-event first: once one ends before the oldest event kept, none after it can
            // make the cut (PostgreSQL rounds the column to microseconds, hence the slack).
            if (kept.Count >= count && segment.LastTime.UtcTicks + 10 < kept[^1].Position.Ticks)
            {
                older = true;
                break;
            }

            var content = await contents.ReadAsync(segment.SegmentId, cancellationToken);
            if (content is null)
                continue;
            for (var i = 0; i < content.Count; i++)
                kept.Add(new StoredEvent(new EventPosition(content.Ticks[i], segment.SegmentId, i), content));
            kept.Sort((a, b) => b.Position.CompareTo(a.Position));
            if (kept.Count > count)
            {
                older = true;
                kept.RemoveRange(count, kept.Count - count);
            }
        }

        kept.Reverse();
        return (kept, older);
    }

    /// <summary>Events in time order from <paramref name="from"/> (inclusive) to <paramref name="until"/> (exclusive), after <paramref name="after"/>.</summary>
    public async IAsyncEnumerable<StoredEvent> OldestFirstAsync(
        SegmentFilter filter, DateTimeOffset? from, DateTimeOffset? until, EventPosition? after, TelemetryEventKind? kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fromTicks = Math.Max(from?.UtcTicks ?? long.MinValue, after?.Ticks ?? long.MinValue);
        var untilTicks = until?.UtcTicks ?? long.MaxValue;
        var kindPrefix = kind is { } k ? Encoding.UTF8.GetBytes($"{{\"kind\":\"{Http.SpecEnum.ToSpec(k)}\"") : null;

        bool Wanted(SegmentContent content, EventPosition position) =>
            position.Ticks >= fromTicks && position.Ticks < untilTicks
            && (after is not { } a || position.CompareTo(a) > 0)
            // Stored events are written with their kind first.
            && (kindPrefix is null || content.EventJson(position.Index).Span.StartsWith(kindPrefix));

        // Each open segment waits in the queue at its next wanted event.
        var queue = new PriorityQueue<StoredEvent, EventPosition>();
        void Enqueue(SegmentContent content, string segmentId, int start)
        {
            for (var i = start; i < content.Count; i++)
            {
                var position = new EventPosition(content.Ticks[i], segmentId, i);
                if (position.Ticks >= untilTicks)
                    return;
                if (Wanted(content, position))
                {
                    queue.Enqueue(new StoredEvent(position, content), position);
                    return;
                }
            }
        }

        var start = fromTicks == long.MinValue ? (DateTimeOffset?)null : new DateTimeOffset(fromTicks, TimeSpan.Zero);
        await using var segments = store.OldestFirstWithDataAsync(filter, start, until, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var next = await segments.MoveNextAsync() ? segments.Current : null;
        while (true)
        {
            // Every segment that starts no later than the earliest waiting event could hold an earlier one: open it first.
            while (next is not null && (queue.Count == 0 || next.FirstTime.UtcTicks <= queue.Peek().Position.Ticks))
            {
                Enqueue(next.Open(), next.SegmentId, 0);
                next = await segments.MoveNextAsync() ? segments.Current : null;
            }

            if (!queue.TryDequeue(out var stored, out _))
                yield break;
            yield return stored;
            Enqueue(stored.Segment, stored.Position.SegmentId, stored.Position.Index + 1);
        }
    }
}

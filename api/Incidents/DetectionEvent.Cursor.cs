namespace Platform.Api.Incidents;

public sealed partial class DetectionEvent
{
    /// <summary>
    /// A batch's events in time order, read one at a time into one event object used again for each: detection
    /// reads every stored event, and an object an event (alive until its pass ended) was most of what detection
    /// allocated. A rule that keeps an event keeps its <see cref="Retain"/> copy. One pass at a time (not thread-safe).
    /// </summary>
    public sealed class Cursor(Names names)
    {
        private readonly DetectionEvent _current = new() { _cursor = true };
        private IReadOnlyList<Telemetry.SegmentContent> _contents = [];
        private (long Ticks, int Segment, int Index)[] _order = [];
        private int _count, _next;

        /// <summary>Starts on a batch (its segments); <see cref="Next"/> then gives its events.</summary>
        public Cursor Start(IReadOnlyList<Telemetry.SegmentContent> contents)
        {
            (_contents, _count, _next) = (contents, contents.Sum(c => c.Count), 0);
            if (_order.Length < _count)
                _order = new (long, int, int)[Math.Max(_count, _order.Length * 2)];
            var (n, sorted) = (0, true);
            for (var s = 0; s < contents.Count; s++)
            {
                for (var i = 0; i < contents[s].Count; i++, n++)
                {
                    _order[n] = (contents[s].Ticks[i], s, i);
                    sorted &= n == 0 || _order[n - 1].Ticks <= _order[n].Ticks;
                }
            }

            // Stable (events of one time keep their order in the batch: segment, then place in it). Most batches are
            // in order already (a recorder writes as things happen): sorting them anyway was a tenth of detection's time.
            if (!sorted)
                Array.Sort(_order, 0, _count);
            return this;
        }

        /// <summary>The batch's next event a rule looks at (kinds no rule looks at are passed over), or null at its end.</summary>
        public DetectionEvent? Next()
        {
            while (_next < _count)
            {
                var (_, segment, index) = _order[_next++];
                var content = _contents[segment];
                if (_current.Load(content.EventJson(index), content.Ticks[index], content.FieldTokens(index), names))
                    return _current;
            }

            _contents = [];
            return null;
        }
    }
}

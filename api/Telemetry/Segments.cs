using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Api.Telemetry;

/// <summary>
/// The part of one batch that belongs to one resource (the host, <c>ContainerId</c> "", or one container),
/// ready to store: its events in time order as JSON Lines followed by their timeline lines, compressed together
/// in one raw DEFLATE stream (<see cref="Data"/>; the first <see cref="RawBytes"/> bytes are the events), and
/// their times (UTC ticks, 8 bytes each, little-endian). Line i of each part is event i.
/// </summary>
/// <remarks>
/// One stream, not one each: the timeline repeats the events' strings, so it costs little after them (a
/// segment is ~15% smaller), and a segment is compressed and read back with one stream set-up, not two. It is
/// stored in the <c>events</c> column with an empty <c>timeline</c>; segments stored before keep their two
/// streams, and <see cref="SegmentContent"/> reads both.
/// </remarks>
public sealed record Segment(string ContainerId, DateTimeOffset FirstTime, DateTimeOffset LastTime, int EventCount, int Kinds, long RawBytes, byte[] Data, byte[] Times)
{
    public long StoredBytes => Data.Length + Times.Length;

    /// <summary>What the <c>timeline</c> column holds for a segment in one stream.</summary>
    public static readonly byte[] NoSeparateTimeline = [];

    public SegmentContent Open() => new(Data, checked((int)RawBytes), NoSeparateTimeline, Times);

    /// <summary>
    /// The events as written, before compression (in a rented buffer), when <see cref="Segments.Build(EventBatch, string, bool)"/>
    /// was asked to keep them: detection in this process reads them from here rather than back from storage
    /// (Incidents/DetectionHandoff). Whoever ends up holding it releases it.
    /// </summary>
    public SegmentContent? Text { get; init; }

    /// <summary>Its <c>coverage_gap</c> events, also stored as reported gaps (listTelemetryGaps, bundles' manifests) with the batch.</summary>
    public IReadOnlyList<ReportedGap> Gaps { get; init; } = [];
}

public static class Segments
{
    /// <summary>How stored events are written: as the API writes them (camelCase, no nulls, UTC times, kind first).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        AllowOutOfOrderMetadataProperties = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        Converters = { new UtcTimestampConverter(), new System.Text.Json.Serialization.JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false) },
    };

    public static readonly JsonTypeInfo<TelemetryEvent> EventInfo = (JsonTypeInfo<TelemetryEvent>)Json.GetTypeInfo(typeof(TelemetryEvent));

    /// <summary>
    /// A bit for each kind of event, so that a query for one kind skips segments without it. The values are
    /// fixed here rather than taken from the enum's order: stored segments keep them.
    /// </summary>
    public static int KindBit(TelemetryEventKind kind) => kind switch
    {
        TelemetryEventKind.Process_start => 1,
        TelemetryEventKind.Process_exit => 2,
        TelemetryEventKind.File_access => 4,
        TelemetryEventKind.Network_connect => 8,
        TelemetryEventKind.Network_listen => 16,
        TelemetryEventKind.Dns_query => 32,
        TelemetryEventKind.Coverage_gap => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Splits a checked batch by resource; each event gets the host name of the agent that pushed it.</summary>
    /// <param name="keepText">Keep each segment's events as written (<see cref="Segment.Text"/>), for detection.</param>
    public static List<Segment> Build(EventBatch batch, string hostname, bool keepText = false)
    {
        if (batch.Errors is not null)
            throw new ArgumentException("A batch with errors cannot be stored.", nameof(batch));
        var segments = new List<Segment>();
        var hostJson = EventJson.HostnameJson(hostname);
        var hostUtf8 = System.Text.Encoding.UTF8.GetBytes(hostname);
        // Buffers of this thread, kept between batches: a batch's text is a few hundred KiB, which would
        // otherwise be a large-object allocation (and a full collection soon after) for every push.
        var (json, timeline) = t_buffers ??= (new ArrayBufferWriter<byte>(256 * 1024), new ArrayBufferWriter<byte>(128 * 1024));
        foreach (var (containerId, resource) in ByResource(batch))
        {
            json.ResetWrittenCount();
            timeline.ResetWrittenCount();
            var times = new byte[8 * resource.Count];
            var lines = keepText ? new int[resource.Count + 1] : null;
            var tokens = keepText ? SegmentContent.TokenPool.Rent(resource.Count * EventJson.FieldCount) : null;
            var kinds = 0;
            List<ReportedGap>? gaps = null;
            for (var i = 0; i < resource.Count; i++)
            {
                var e = resource[i];
                lines?[i] = json.WrittenCount;
                EventJson.Write(json, batch, e, hostJson, tokens is null ? default : tokens.AsSpan(i * EventJson.FieldCount, EventJson.FieldCount));
                json.Write("\n"u8);
                Timeline.Write(timeline, batch, e, hostUtf8);
                timeline.Write("\n"u8);
                BinaryPrimitives.WriteInt64LittleEndian(times.AsSpan(8 * i), batch.Ticks(e));
                kinds |= KindBit(batch.Kind(e));
                if (batch.Kind(e) == TelemetryEventKind.Coverage_gap)
                    (gaps ??= []).Add(new ReportedGap(e, System.Text.Encoding.UTF8.GetString(batch.Text(e, Field.Id)), containerId, (CoverageGapReason)batch.Number(e, Field.Reason)!.Value,
                        new DateTimeOffset(batch.Ticks(e), TimeSpan.Zero), new DateTimeOffset(batch.Number(e, Field.Until)!.Value, TimeSpan.Zero), batch.Number(e, Field.LostEvents)));
            }

            SegmentContent? text = null;
            if (lines is not null)
            {
                lines[^1] = json.WrittenCount;
                text = SegmentContent.Rented(json.WrittenSpan, lines, times, tokens!);
            }

            segments.Add(new Segment(containerId, new DateTimeOffset(batch.Ticks(resource[0]), TimeSpan.Zero), new DateTimeOffset(batch.Ticks(resource[^1]), TimeSpan.Zero),
                resource.Count, kinds, json.WrittenCount, Compress(json.WrittenSpan, timeline.WrittenSpan), times) { Text = text, Gaps = gaps ?? [] });
        }

        return segments;
    }

    /// <summary>Gives back the buffers of segments' kept text (<see cref="Segment.Text"/>) that nobody took.</summary>
    public static void Release(IEnumerable<Segment> segments)
    {
        foreach (var segment in segments)
            segment.Text?.Release();
    }

    /// <summary>Stores events made in code (tools, tests, benchmarks): they go through the same reader and checks as a push.</summary>
    public static List<Segment> Build(IReadOnlyList<TelemetryEvent> events, string hostname, bool keepText = false)
    {
        using var batch = EventBatch.Read(JsonSerializer.SerializeToUtf8Bytes(new TelemetryBatch { Id = "built", Sequence = 1, Events = events }, Json), hostname);
        if (batch.Errors is { } errors)
            throw new ArgumentException("Not a valid batch: " + string.Join("; ", errors.Select(p => $"{p.Key}: {string.Join(" ", p.Value)}")), nameof(events));
        return Build(batch, hostname, keepText);
    }

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Json, ArrayBufferWriter<byte> Timeline)? t_buffers;

    /// <summary>The events of each resource (host: container id ""), in time order (ties keep the batch's order).</summary>
    private static IEnumerable<(string ContainerId, List<int> Events)> ByResource(EventBatch batch)
    {
        var resources = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var lookup = resources.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> id = stackalloc char[128];
        for (var e = 0; e < batch.Count; e++)
        {
            // Container ids are ASCII (checked by the reader).
            var length = System.Text.Encoding.ASCII.GetChars(batch.Text(e, Field.ContainerId), id);
            if (!lookup.TryGetValue(id[..length], out var list))
                lookup[id[..length]] = list = [];
            list.Add(e);
        }

        foreach (var (containerId, list) in resources)
        {
            var ordered = true;
            for (var i = 1; ordered && i < list.Count; i++)
                ordered = batch.Ticks(list[i - 1]) <= batch.Ticks(list[i]);
            if (!ordered)
                list.Sort((a, b) => batch.Ticks(a) != batch.Ticks(b) ? batch.Ticks(a).CompareTo(batch.Ticks(b)) : a.CompareTo(b));
            yield return (containerId, list);
        }
    }

    private static byte[] Compress(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var compressed = t_compressed ??= new MemoryStream(64 * 1024);
        compressed.SetLength(0);
        using (var deflate = new DeflateStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(first);
            deflate.Write(second);
        }

        return compressed.ToArray();
    }

    [ThreadStatic]
    private static MemoryStream? t_compressed;

    public static byte[] Decompress(byte[] data, int knownLength = 0)
    {
        using var input = new DeflateStream(new MemoryStream(data), CompressionMode.Decompress);
        if (knownLength > 0)
        {
            // The size is known: straight into an array of that size (not zeroed first; it is all written).
            var exact = GC.AllocateUninitializedArray<byte>(knownLength);
            input.ReadExactly(exact);
            if (input.ReadByte() >= 0)
                throw new InvalidDataException("A stored segment holds more data than its recorded size.");
            return exact;
        }

        var output = t_decompressed ??= new MemoryStream(256 * 1024);
        output.SetLength(0);
        input.CopyTo(output);
        return output.ToArray();
    }

    [ThreadStatic]
    private static MemoryStream? t_decompressed;
}

/// <summary>A stored segment read back: event i is line i of <see cref="Events"/> and of <see cref="Timeline"/>, at <see cref="Ticks"/>[i].</summary>
public sealed class SegmentContent
{
    private byte[] _events;
    private readonly int[] _eventLines;
    private readonly byte[] _timeline;
    private readonly int[]? _timelineLines;
    private bool _rented;

    private (int Start, int Length)[]? _tokens;

    // Pools of their own: buffers are rented by the request that stores a batch and returned by the detector's
    // thread, which the shared pool (a cache per thread first) serves badly: it made new large arrays (measured:
    // 11 full collections in a benchmark run against 7 with these). Sized for batches waiting in the handoff.
    private static readonly System.Buffers.ArrayPool<byte> TextPool = System.Buffers.ArrayPool<byte>.Create(4 * 1024 * 1024, 256);
    internal static readonly System.Buffers.ArrayPool<(int, int)> TokenPool = System.Buffers.ArrayPool<(int, int)>.Create(EventBatch.MaxEvents * Telemetry.EventJson.FieldCount, 256);

    private SegmentContent(byte[] events, int[] eventLines, long[] ticks)
    {
        (_events, _eventLines, _timeline, _timelineLines, Ticks) = (events, eventLines, [], null, ticks);
    }

    /// <summary>
    /// A segment's events as just written (no timeline), in a rented copy, with where each field of each event went
    /// (<paramref name="tokens"/>, rented, <see cref="EventJson.FieldCount"/> an event): <see cref="Release"/> gives both back.
    /// </summary>
    internal static SegmentContent Rented(ReadOnlySpan<byte> events, int[] eventLines, byte[] times, (int, int)[] tokens)
    {
        var copy = TextPool.Rent(events.Length);
        events.CopyTo(copy);
        var ticks = new long[times.Length / 8];
        for (var i = 0; i < ticks.Length; i++)
            ticks[i] = BinaryPrimitives.ReadInt64LittleEndian(times.AsSpan(8 * i));
        return new SegmentContent(copy, eventLines, ticks) { _rented = true, _tokens = tokens };
    }

    /// <summary>Where each field of event i is in <see cref="EventJson(int)"/> (see <see cref="Telemetry.EventJson.Write"/>); empty if not known (read back from storage).</summary>
    public ReadOnlySpan<(int Start, int Length)> FieldTokens(int i) =>
        _tokens is null ? default : _tokens.AsSpan(i * Telemetry.EventJson.FieldCount, Telemetry.EventJson.FieldCount);

    /// <summary>Gives a rented copy's buffers back; its events must not be read after this (detection copies what it keeps).</summary>
    public void Release()
    {
        if (!_rented)
            return;
        _rented = false;
        var buffer = _events;
        _events = [];
        TextPool.Return(buffer);
        if (_tokens is { } tokens)
        {
            _tokens = null;
            TokenPool.Return(tokens);
        }
    }

    /// <param name="events">The <c>events</c> column: the events' JSON Lines, then (when <paramref name="timeline"/> is empty) their timeline lines, compressed.</param>
    /// <param name="rawBytes">The size of the events' JSON Lines.</param>
    /// <param name="timeline">The <c>timeline</c> column: the timeline lines compressed on their own (segments stored before one stream), or empty.</param>
    public SegmentContent(byte[] events, int rawBytes, byte[] timeline, byte[] times)
    {
        Ticks = new long[times.Length / 8];
        for (var i = 0; i < Ticks.Length; i++)
            Ticks[i] = BinaryPrimitives.ReadInt64LittleEndian(times.AsSpan(8 * i));
        if (timeline.Length == 0)
        {
            // One stream: both parts in one array, the timeline from rawBytes on.
            _events = _timeline = Segments.Decompress(events);
            if (_events.Length < rawBytes)
                throw new InvalidDataException("A stored segment holds less data than its recorded size.");
            _eventLines = LineStarts(_events, 0, rawBytes, Ticks.Length);
            _timelineLines = LineStarts(_timeline, rawBytes, _timeline.Length, Ticks.Length);
        }
        else
        {
            _events = Segments.Decompress(events, rawBytes);
            _eventLines = LineStarts(_events, 0, _events.Length, Ticks.Length);
            _timeline = Segments.Decompress(timeline);
            _timelineLines = LineStarts(_timeline, 0, _timeline.Length, Ticks.Length);
        }
    }

    public int Count => Ticks.Length;

    public long[] Ticks { get; }

    /// <summary>Event i as JSON, without its line end.</summary>
    public ReadOnlyMemory<byte> EventJson(int i) => _events.AsMemory(_eventLines[i], _eventLines[i + 1] - _eventLines[i] - 1);

    /// <summary>Timeline line i, without its line end.</summary>
    public ReadOnlyMemory<byte> TimelineLine(int i) => _timelineLines is { } lines
        ? _timeline.AsMemory(lines[i], lines[i + 1] - lines[i] - 1)
        : throw new InvalidOperationException("Events kept for detection have no timeline.");

    public TelemetryEvent Event(int i) => JsonSerializer.Deserialize(EventJson(i).Span, Segments.EventInfo)!;

    /// <summary>The start of each of <paramref name="count"/> lines from <paramref name="from"/> to <paramref name="to"/>, and one past the end of the last.</summary>
    private static int[] LineStarts(byte[] text, int from, int to, int count)
    {
        var starts = new int[count + 1];
        starts[0] = from;
        var at = from;
        for (var line = 0; line < count; line++)
        {
            var end = at < to ? Array.IndexOf(text, (byte)'\n', at, to - at) : -1;
            if (end < 0)
                throw new InvalidDataException("A stored segment's events, timeline and times do not line up.");
            starts[line + 1] = at = end + 1;
        }

        if (at != to)
            throw new InvalidDataException("A stored segment's events, timeline and times do not line up.");
        return starts;
    }
}

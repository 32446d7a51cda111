using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Platform.Api.Http;
using Platform.Contracts;

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
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Splits a checked batch by resource; each event gets the host name of the agent that pushed it.</summary>
    public static List<Segment> Build(EventBatch batch, string hostname)
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
            var kinds = 0;
            for (var i = 0; i < resource.Count; i++)
            {
                var e = resource[i];
                EventJson.Write(json, batch, e, hostJson);
                json.Write("\n"u8);
                Timeline.Write(timeline, batch, e, hostUtf8);
                timeline.Write("\n"u8);
                BinaryPrimitives.WriteInt64LittleEndian(times.AsSpan(8 * i), batch.Ticks(e));
                kinds |= KindBit(batch.Kind(e));
            }

            segments.Add(new Segment(containerId, new DateTimeOffset(batch.Ticks(resource[0]), TimeSpan.Zero), new DateTimeOffset(batch.Ticks(resource[^1]), TimeSpan.Zero),
                resource.Count, kinds, json.WrittenCount, Compress(json.WrittenSpan, timeline.WrittenSpan), times));
        }

        return segments;
    }

    /// <summary>Stores events made in code (tools, tests, benchmarks): they go through the same reader and checks as a push.</summary>
    public static List<Segment> Build(IReadOnlyList<TelemetryEvent> events, string hostname)
    {
        using var batch = EventBatch.Read(JsonSerializer.SerializeToUtf8Bytes(new TelemetryBatch { Id = "built", Sequence = 1, Events = events }, Json), hostname);
        if (batch.Errors is { } errors)
            throw new ArgumentException("Not a valid batch: " + string.Join("; ", errors.Select(p => $"{p.Key}: {string.Join(" ", p.Value)}")), nameof(events));
        return Build(batch, hostname);
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
    private readonly byte[] _events;
    private readonly int[] _eventLines;
    private readonly byte[] _timeline;
    private readonly int[] _timelineLines;

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
    public ReadOnlyMemory<byte> TimelineLine(int i) => _timeline.AsMemory(_timelineLines[i], _timelineLines[i + 1] - _timelineLines[i] - 1);

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

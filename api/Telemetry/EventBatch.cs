using System.Buffers;

namespace Platform.Api.Telemetry;

/// <summary>
/// A pushed batch (openapi.yaml's TelemetryBatch) read and checked in one pass over the request's bytes,
/// without making an object per event: a flight recorder takes hundreds of thousands of events a second,
/// and the serializer's polymorphic path (with a string per field and a collection every few batches) cost
/// more than everything else in ingest together. Each field of each event is kept as a range of the body's
/// UTF-8 text (unescaped where the sender escaped it) or a number; <see cref="Segments"/> writes the stored
/// form from them. Checks and messages are those of the schema (read from openapi.yaml once, <see cref="EventRules"/>):
/// limits, patterns, required fields, nulls, fields that are not the event's kind's, with errors named as in the JSON
/// ("events[3].path").
/// </summary>
public sealed partial class EventBatch : IDisposable
{
    public const int MaxEvents = 1000;
    private const int FieldCount = EventJson.FieldCount;
    private const int Absent = -1;

    private readonly Buffers _b;
    private int _textLength;
    private Dictionary<string, List<string>>? _errors;
    private readonly string _hostname;

    private EventBatch(Buffers buffers, int length, string hostname, IngestClock? clock)
    {
        _b = buffers;
        _textLength = length;
        _hostname = hostname;
        _clock = clock;
        _latestTicks = clock?.Latest.UtcTicks ?? long.MaxValue;
    }

    /// <summary>Event times after this are refused (the API's clock plus the allowed skew); none without a clock.</summary>
    private readonly long _latestTicks;
    private readonly IngestClock? _clock;

    public string Id { get; private set; } = "";

    public long Sequence { get; private set; }

    public int Count { get; private set; }

    /// <summary>Field errors (JSON names), or null for a batch that meets the schema.</summary>
    public Dictionary<string, string[]>? Errors => _errors?.ToDictionary(p => p.Key, p => p.Value.ToArray());

    /// <summary>Reads the request's JSON body (after any decompression; Kestrel's body limit applies while reading).</summary>
    /// <param name="clock">Refuses event times ahead of the API's clock (ingest); null reads any time (tools, tests).</param>
    public static async Task<EventBatch> ReadAsync(HttpRequest request, string hostname, IngestClock? clock, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
            throw new BadHttpRequestException("Send the body as application/json.", StatusCodes.Status415UnsupportedMediaType);
        var buffers = Buffers.Rent();
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffers.Text.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
                if (length == buffers.Text.Length)
                    Array.Resize(ref buffers.Text, 2 * length);
            }
        }
        catch
        {
            Buffers.Return(buffers);
            throw;
        }

        return Read(buffers, length, hostname, clock);
    }

    /// <summary>Reads a batch from JSON text (tools and tests); the text is copied.</summary>
    public static EventBatch Read(ReadOnlySpan<byte> json, string hostname)
    {
        var buffers = Buffers.Rent();
        if (buffers.Text.Length < 2 * json.Length)
            buffers.Text = new byte[2 * json.Length];
        json.CopyTo(buffers.Text);
        return Read(buffers, json.Length, hostname, null);
    }

    private static EventBatch Read(Buffers buffers, int length, string hostname, IngestClock? clock)
    {
        // Unescaped strings are added after the body: never longer than their escaped form.
        if (buffers.Text.Length < 2 * length)
            Array.Resize(ref buffers.Text, 2 * length);
        var batch = new EventBatch(buffers, length, hostname, clock);
        try
        {
            if (!System.Text.Unicode.Utf8.IsValid(buffers.Text.AsSpan(0, length)))
                throw new BadHttpRequestException("The JSON body is invalid: it is not UTF-8 text.");
            var reader = new Utf8JsonReader(buffers.Text.AsSpan(0, length), new JsonReaderOptions { MaxDepth = 16 });
            batch.ReadBatch(ref reader);
            return batch;
        }
        catch (JsonException e)
        {
            batch.Dispose();
            throw new BadHttpRequestException("The JSON body is invalid: " + e.Message, StatusCodes.Status400BadRequest, e);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            Buffers.Return(_b);
    }

    /// <summary>
    /// The arrays a batch is read into, reused from batch to batch: allocated per push they would be large
    /// objects (the body, a slot per field of 1,000 events), each a step towards a full collection.
    /// </summary>
    private sealed class Buffers
    {
        public byte[] Text = new byte[512 * 1024];
        public readonly Slot[] Slots = new Slot[MaxEvents * FieldCount];
        public readonly TelemetryEventKind[] Kinds = new TelemetryEventKind[MaxEvents];
        public readonly int[] ObjectLengths = new int[MaxEvents];
        public readonly ulong[] Redactions = new ulong[MaxEvents];
        public readonly int[] Growth = new int[MaxEvents];
        public readonly List<TextRange> Items = new(4 * MaxEvents);

        private static readonly System.Collections.Concurrent.ConcurrentQueue<Buffers> Free = new();

        public static Buffers Rent() => Free.TryDequeue(out var buffers) ? buffers : new Buffers();

        public static void Return(Buffers buffers)
        {
            buffers.Items.Clear();
            // Kept for as many pushes as can be in flight at once; a body of a few MiB is not kept.
            if (Free.Count < 4 * Environment.ProcessorCount && buffers.Text.Length <= 4 * 1024 * 1024)
                Free.Enqueue(buffers);
        }
    }

    // ---- What the segment writer reads ----

    public TelemetryEventKind Kind(int e) => _b.Kinds[e];

    /// <summary>Event e's time (UTC ticks), as its time field holds it.</summary>
    public long Ticks(int e) => _b.Slots[e * FieldCount + (int)Field.Time].Number;

    public bool Has(int e, Field field) => _b.Slots[e * FieldCount + (int)field].Length != Absent;

    /// <summary>A string field's UTF-8 text (empty if absent).</summary>
    public ReadOnlySpan<byte> Text(int e, Field field) => Text(_b.Slots[e * FieldCount + (int)field]);

    public long? Number(int e, Field field) => _b.Slots[e * FieldCount + (int)field] is { Length: not Absent } slot ? slot.Number : null;

    /// <summary>The items of an array field (args, answers), each as UTF-8 text.</summary>
    public ItemList Items(int e, Field field) => _b.Slots[e * FieldCount + (int)field] is { Length: not Absent } slot ? new ItemList(this, slot.Start, slot.Length) : default;

    /// <summary>
    /// A string field as the sender wrote it inside its quotes: valid JSON string content (checked by the reader),
    /// escapes kept, so it is copied into the stored form as it is.
    /// </summary>
    public ReadOnlySpan<byte> Json(int e, Field field) => RawJson(_b.Slots[e * FieldCount + (int)field]);

    private ReadOnlySpan<byte> RawJson(Slot slot) => slot.Length == Absent ? default : _b.Text.AsSpan((int)(slot.Number >> 32), (int)(uint)slot.Number);

    public readonly struct ItemList(EventBatch? batch, int first, int count)
    {
        public int Count => count;

        public ReadOnlySpan<byte> this[int i] => batch!._b.Text.AsSpan(batch._b.Items[first + i].Start, batch._b.Items[first + i].Length);

        /// <summary>Item i as the sender wrote it inside its quotes (see <see cref="EventBatch.Json"/>).</summary>
        public ReadOnlySpan<byte> Json(int i) => batch!._b.Text.AsSpan(batch._b.Items[first + i].RawStart, batch._b.Items[first + i].RawLength);
    }

    /// <summary>Event e's object as sent, and what redaction added: its JSON is never longer than this plus the fields the server adds.</summary>
    public int SentLength(int e) => _b.ObjectLengths[e] + _b.Growth[e];

    /// <summary>The reasons found by <see cref="Redact"/> in event e (a mask of <see cref="RedactedBy"/>'s reasons), 0 for none.</summary>
    public ulong Redactions(int e) => _redactor is null ? 0 : _b.Redactions[e];

    /// <summary>The redactor of <see cref="Redact"/> (null before it ran).</summary>
    public SecretRedactor? RedactedBy => _redactor;

    private SecretRedactor? _redactor;

    private ReadOnlySpan<byte> Text(Slot slot) => slot.Length > 0 ? _b.Text.AsSpan(slot.Start, slot.Length) : default;

    private struct Slot
    {
        public int Start;
        public int Length;
        public long Number;
    }

    /// <summary>A string's text (unescaped) and its JSON form as sent (escapes kept), both in the batch's buffer.</summary>
    internal readonly record struct TextRange(int Start, int Length, int RawStart, int RawLength)
    {
        public ReadOnlySpan<byte> Span(EventBatch batch) => batch._b.Text.AsSpan(Start, Length);
    }
}

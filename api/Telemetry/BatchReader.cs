using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>The fields of an event, across all kinds (the properties of openapi.yaml's event schemas).</summary>
public enum Field
{
    Id, Time, Hostname, ContainerId, ContainerName, ContainerImage, ProcessName,
    Pid, Ppid, ParentProcessName, Executable, Args, User, Uid, Cwd, ExitCode,
    Path, Operation, NewPath, Protocol, LocalAddress, LocalPort, RemoteAddress, RemotePort, Name, Answers, Redacted,
    // Added after the others: detection and stored readers keep the positions above.
    Interpreter, Stdio, Stdin, Stdout, Stderr, StdioRemoteAddress, StdioRemotePort, Direction, Result, Until, Reason, LostEvents,
}

/// <summary>
/// A pushed batch (openapi.yaml's TelemetryBatch) read and checked in one pass over the request's bytes,
/// without making an object per event: a flight recorder takes hundreds of thousands of events a second,
/// and the serializer's polymorphic path (with a string per field and a collection every few batches) cost
/// more than everything else in ingest together. Each field of each event is kept as a range of the body's
/// UTF-8 text (unescaped where the sender escaped it) or a number; <see cref="Segments"/> writes the stored
/// form from them. Checks and messages are those of the schema: limits, patterns, required fields, fields
/// that are not the event's kind's, with errors named as in the JSON ("events[3].path").
/// </summary>
public sealed class EventBatch : IDisposable
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

    // ---- Redaction (docs/redaction.md) ----

    /// <summary>
    /// Replaces secrets in every free-text field of a checked batch (the arguments as one command line), whatever the
    /// agent did before: an old agent sends them in clear. The replaced text is written after the body, so the stored
    /// form, the timeline and detection read only the redacted text; the reasons go to the event's <c>redacted</c>.
    /// </summary>
    public void Redact(SecretRedactor redactor)
    {
        if (_errors is not null)
            throw new InvalidOperationException("A batch with errors is not redacted.");
        _redactor = redactor;
        var output = t_redacted ??= new ArrayBufferWriter<byte>(8 * 1024);
        for (var e = 0; e < Count; e++)
        {
            ulong mask = 0;
            var growth = 0;
            One(e, Field.ProcessName, 256);
            One(e, Field.ContainerName, 256);
            One(e, Field.ContainerImage, 512);
            switch (_b.Kinds[e])
            {
                case TelemetryEventKind.Process_start:
                    One(e, Field.ParentProcessName, 256);
                    One(e, Field.Executable, 4096);
                    One(e, Field.Cwd, 4096);
                    One(e, Field.Interpreter, 4096);
                    var args = _b.Slots[e * FieldCount + (int)Field.Args];
                    if (args.Length > 0)
                    {
                        var state = new SecretRedactor.State();
                        for (var i = 0; i < args.Length; i++)
                        {
                            var item = _b.Items[args.Start + i];
                            output.ResetWrittenCount();
                            var found = redactor.Redact(_b.Text.AsSpan(item.Start, item.Length), ref state, output);
                            if (found == 0)
                                continue;
                            mask |= found;
                            var (start, length, rawStart, rawLength) = Append(Fit(output.WrittenSpan, 4096));
                            growth += Math.Max(0, rawLength - item.RawLength);
                            _b.Items[args.Start + i] = new TextRange(start, length, rawStart, rawLength);
                        }
                    }

                    break;
                case TelemetryEventKind.File_access:
                    One(e, Field.Path, 4096);
                    One(e, Field.NewPath, 4096);
                    break;
            }

            _b.Redactions[e] = mask;
            // The reasons' array: a name and its quotes and comma each.
            _b.Growth[e] = mask == 0 ? growth : growth + 16 + 52 * System.Numerics.BitOperations.PopCount(mask);

            void One(int e, Field field, int max)
            {
                ref var slot = ref _b.Slots[e * FieldCount + (int)field];
                if (slot.Length <= 0)
                    return;
                output.ResetWrittenCount();
                var state = new SecretRedactor.State();
                var found = redactor.Redact(_b.Text.AsSpan(slot.Start, slot.Length), ref state, output);
                if (found == 0)
                    return;
                mask |= found;
                var (start, length, rawStart, rawLength) = Append(Fit(output.WrittenSpan, max));
                growth += Math.Max(0, rawLength - (int)(uint)slot.Number);
                slot = new Slot { Start = start, Length = length, Number = (long)rawStart << 32 | (uint)rawLength };
            }
        }
    }

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_redacted;

    /// <summary>Adds a replaced text after the body: as text, then as JSON string content.</summary>
    private TextRange Append(ReadOnlySpan<byte> text)
    {
        var needed = _textLength + 7 * text.Length + 16;
        if (needed > _b.Text.Length)
            Array.Resize(ref _b.Text, Math.Max(needed, 2 * _b.Text.Length));
        var start = _textLength;
        text.CopyTo(_b.Text.AsSpan(start));
        _textLength += text.Length;
        System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping.EncodeUtf8(text, _b.Text.AsSpan(_textLength), out _, out var written);
        var raw = _textLength;
        _textLength += written;
        return new TextRange(start, text.Length, raw, written);
    }

    /// <summary>The marker may be longer than the secret it replaced: kept within the field's limit (openapi.yaml).</summary>
    private static ReadOnlySpan<byte> Fit(ReadOnlySpan<byte> utf8, int max)
    {
        if (FitsIn(utf8, max))
            return utf8;
        var text = Encoding.UTF8.GetString(utf8);
        return Encoding.UTF8.GetBytes(text[..(char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)]);
    }

    // ---- Reading ----

    private void ReadBatch(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new BadHttpRequestException("The JSON body must be an object (a TelemetryBatch).");
        bool hasId = false, hasSequence = false, hasEvents = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            if ((name.SequenceEqual("id"u8) && hasId) || (name.SequenceEqual("sequence"u8) && hasSequence) || (name.SequenceEqual("events"u8) && hasEvents))
            {
                Fail(Encoding.UTF8.GetString(name), $"'{Encoding.UTF8.GetString(name)}' is given twice.");
                reader.Skip();
            }
            else if (name.SequenceEqual("id"u8))
            {
                hasId = true;
                var id = reader.TokenType == JsonTokenType.String ? StringValue(ref reader).Span(this) : default;
                if (IsClientId(id))
                    Id = Encoding.UTF8.GetString(id);
                else
                    Fail("id", "'id' must be 1 to 64 letters, digits, '_' or '-'.");
            }
            else if (name.SequenceEqual("sequence"u8))
            {
                hasSequence = true;
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var sequence) && sequence is >= 1 and <= 9007199254740991)
                    Sequence = sequence;
                else
                    Fail("sequence", "'sequence' must be an integer from 1 to 9007199254740991.");
            }
            else if (name.SequenceEqual("events"u8))
            {
                hasEvents = true;
                ReadEvents(ref reader);
            }
            else
            {
                Fail(Encoding.UTF8.GetString(name), "Not a field of a telemetry batch (id, sequence, events).");
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            throw new BadHttpRequestException("The JSON body must be one object (a TelemetryBatch).");
        if (!hasId)
            Fail("id", "'id' is required.");
        if (!hasSequence)
            Fail("sequence", "'sequence' is required.");
        if (!hasEvents)
            Fail("events", "'events' is required.");
    }

    private void ReadEvents(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            Fail("events", "'events' must be an array of events.");
            reader.Skip();
            return;
        }

        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (index >= MaxEvents)
            {
                reader.Skip();
                index++;
                continue;
            }

            ReadEvent(ref reader, index++);
        }

        Count = Math.Min(index, MaxEvents);
        if (index == 0)
            Fail("events", "'events' must not be empty.");
        if (index > MaxEvents)
            Fail("events", $"At most {MaxEvents} events a batch.");
    }

    private void ReadEvent(ref Utf8JsonReader reader, int e)
    {
        var slots = _b.Slots.AsSpan(e * FieldCount, FieldCount);
        slots.Fill(new Slot { Length = Absent });
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, null, "Each event must be an object.");
            reader.Skip();
            _b.Kinds[e] = (TelemetryEventKind)(-1);
            return;
        }

        var start = reader.TokenStartIndex;
        TelemetryEventKind? kind = null;
        var present = 0L;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            if (name.SequenceEqual("kind"u8))
            {
                kind = reader.TokenType == JsonTokenType.String ? SpecEnum.FindUtf8<TelemetryEventKind>(StringValue(ref reader).Span(this)) : null;
                if (kind is null)
                    FailEvent(e, "kind", KindRequired);
                continue;
            }

            if (name.SequenceEqual("container"u8))
            {
                ReadContainer(ref reader, e, slots, ref present);
                continue;
            }

            if (name.SequenceEqual("stdio"u8))
            {
                if ((present & Bit(Field.Stdio)) != 0)
                {
                    FailEvent(e, "stdio", "'stdio' is given twice.");
                    reader.Skip();
                }
                else
                    ReadStdio(ref reader, e, slots, ref present);
                continue;
            }

            if (Lookup(name) is not { } field)
            {
                FailEvent(e, Encoding.UTF8.GetString(name), "Not a field of an event.");
                reader.Skip();
                continue;
            }

            if ((present & Bit(field)) != 0)
            {
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' is given twice.");
                reader.Skip();
                continue;
            }

            present |= Bit(field);
            ReadValue(ref reader, e, field, ref slots[(int)field]);
        }

        _b.ObjectLengths[e] = (int)(reader.BytesConsumed - start);
        if (kind is not { } k)
        {
            if (!HasError(e, "kind"))
                FailEvent(e, "kind", KindRequired);
            _b.Kinds[e] = (TelemetryEventKind)(-1);
            return;
        }

        _b.Kinds[e] = k;
        // A stdio object on another kind is named once, as 'stdio', not by its parts.
        var foreign = present & ~Allowed(k) & ~StdioParts;
        for (var f = 0; foreign != 0 && f < FieldCount; f++)
        {
            if ((foreign & (1L << f)) != 0)
                FailEvent(e, Names[f], $"Not a field of a {SpecEnum.ToSpec(k)} event.");
        }

        Check(e, k);
    }

    private static readonly string KindRequired = $"'kind' is required: one of {string.Join(", ", SpecEnum.Values<TelemetryEventKind>())}.";

    private void ReadStdio(ref Utf8JsonReader reader, int e, Span<Slot> slots, ref long present)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return;
        present |= Bit(Field.Stdio);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, "stdio", "'stdio' must be an object (stdin, stdout, stderr, remoteAddress, remotePort).");
            reader.Skip();
            return;
        }

        slots[(int)Field.Stdio] = new Slot { Length = 0 };
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            Field? field = name.SequenceEqual("stdin"u8) ? Field.Stdin : name.SequenceEqual("stdout"u8) ? Field.Stdout : name.SequenceEqual("stderr"u8) ? Field.Stderr
                : name.SequenceEqual("remoteAddress"u8) ? Field.StdioRemoteAddress : name.SequenceEqual("remotePort"u8) ? Field.StdioRemotePort : null;
            if (field is not { } f || (present & Bit(f)) != 0)
            {
                FailEvent(e, "stdio." + Encoding.UTF8.GetString(name), field is null ? "Not a field of stdio (stdin, stdout, stderr, remoteAddress, remotePort)." : "Given twice.");
                reader.Skip();
                continue;
            }

            present |= Bit(f);
            ReadValue(ref reader, e, f, ref slots[(int)f]);
        }
    }

    private void ReadContainer(ref Utf8JsonReader reader, int e, Span<Slot> slots, ref long present)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            FailEvent(e, "container", "'container' must be an object (id, name, image).");
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = PropertyName(ref reader);
            reader.Read();
            Field? field = name.SequenceEqual("id"u8) ? Field.ContainerId : name.SequenceEqual("name"u8) ? Field.ContainerName : name.SequenceEqual("image"u8) ? Field.ContainerImage : null;
            if (field is not { } f || (present & Bit(f)) != 0)
            {
                FailEvent(e, "container." + Encoding.UTF8.GetString(name), field is null ? "Not a field of a container (id, name, image)." : "Given twice.");
                reader.Skip();
                continue;
            }

            present |= Bit(f);
            ReadValue(ref reader, e, f, ref slots[(int)f]);
        }

        if (slots[(int)Field.ContainerId].Length == Absent)
            FailEvent(e, "container.id", "'id' is required.");
    }

    private void ReadValue(ref Utf8JsonReader reader, int e, Field field, ref Slot slot)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return;
        switch (field)
        {
            case Field.Time or Field.Until:
                // An escaped time is no RFC 3339 time (and a lone surrogate in it would throw): only plain strings are read.
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.Length <= 40 && reader.TryGetDateTimeOffset(out var time))
                {
                    if (time.UtcTicks > _latestTicks)
                        FailEvent(e, Names[(int)field], _clock!.Refusal(Names[(int)field]));
                    else
                        slot = new Slot { Length = 0, Number = time.UtcTicks };
                }
                else
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an RFC 3339 date-time (2026-11-22T10:01:02Z).");

                break;
            case Field.Stdin or Field.Stdout or Field.Stderr or Field.Direction or Field.Result or Field.Reason:
                if ((reader.TokenType == JsonTokenType.String ? SpecValue(field, StringValue(ref reader).Span(this)) : null) is { } specValue)
                    slot = new Slot { Length = 0, Number = specValue };
                else
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be one of: {string.Join(", ", SpecValues(field))}.");
                    reader.Skip();
                }

                break;
            case Field.Pid or Field.Ppid or Field.Uid or Field.ExitCode or Field.LocalPort or Field.RemotePort or Field.StdioRemotePort or Field.LostEvents:
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
                    slot = new Slot { Length = 0, Number = number };
                else
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an integer.");
                break;
            case Field.Operation or Field.Protocol:
                int? value = reader.TokenType != JsonTokenType.String ? null
                    : field == Field.Operation ? (int?)SpecEnum.FindUtf8<FimOperation>(StringValue(ref reader).Span(this)) : (int?)SpecEnum.FindUtf8<NetworkProtocol>(StringValue(ref reader).Span(this));
                if (value is { } v)
                    slot = new Slot { Length = 0, Number = v };
                else
                    FailEvent(e, Names[(int)field], field == Field.Operation ? $"'operation' must be one of: {string.Join(", ", SpecEnum.Values<FimOperation>())}." : "'protocol' must be tcp or udp.");
                break;
            case Field.Args or Field.Answers or Field.Redacted:
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an array of strings.");
                    reader.Skip();
                    break;
                }

                var first = _b.Items.Count;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an array of strings.");
                        reader.Skip();
                        continue;
                    }

                    _b.Items.Add(StringValue(ref reader));
                }

                slot = new Slot { Start = first, Length = _b.Items.Count - first };
                break;
            default:
                if (reader.TokenType == JsonTokenType.String)
                {
                    var text = StringValue(ref reader);
                    slot = new Slot { Start = text.Start, Length = text.Length, Number = (long)text.RawStart << 32 | (uint)text.RawLength };
                }
                else
                {
                    FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be a string.");
                    reader.Skip();
                }

                break;
        }
    }

    /// <summary>An enum field's value (the contract's enum as a number), or null if the text is none of its values.</summary>
    private static int? SpecValue(Field field, ReadOnlySpan<byte> text) => field switch
    {
        Field.Stdin or Field.Stdout or Field.Stderr => (int?)SpecEnum.FindUtf8<StdioKind>(text),
        Field.Direction => (int?)SpecEnum.FindUtf8<NetworkDirection>(text),
        Field.Result => (int?)SpecEnum.FindUtf8<ConnectResult>(text),
        Field.Reason => (int?)SpecEnum.FindUtf8<CoverageGapReason>(text),
        _ => null,
    };

    private static IEnumerable<string> SpecValues(Field field) => field switch
    {
        Field.Stdin or Field.Stdout or Field.Stderr => SpecEnum.Values<StdioKind>(),
        Field.Direction => SpecEnum.Values<NetworkDirection>(),
        Field.Result => SpecEnum.Values<ConnectResult>(),
        _ => SpecEnum.Values<CoverageGapReason>(),
    };

    /// <summary>The current string's text: its bytes in the body, or unescaped after the body.</summary>
    private TextRange StringValue(ref Utf8JsonReader reader)
    {
        var raw = (int)reader.TokenStartIndex + 1;
        if (!reader.ValueIsEscaped)
            return new TextRange(raw, reader.ValueSpan.Length, raw, reader.ValueSpan.Length);
        int written;
        try
        {
            written = reader.CopyString(_b.Text.AsSpan(_textLength));
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException("A string holds an invalid escape (a lone UTF-16 surrogate).", e);
        }

        // Only an escape can put a NUL in a string (JSON forbids raw control characters), so only escaped strings are searched.
        if (_b.Text.AsSpan(_textLength, written).Contains((byte)0))
            throw new JsonException($"The string at byte {raw - 1} holds a NUL (\\u0000) character, which no field accepts.");

        var range = new TextRange(_textLength, written, raw, reader.ValueSpan.Length);
        _textLength += written;
        return range;
    }

    /// <summary>A string's text (unescaped) and its JSON form as sent (escapes kept), both in the batch's buffer.</summary>
    internal readonly record struct TextRange(int Start, int Length, int RawStart, int RawLength)
    {
        public ReadOnlySpan<byte> Span(EventBatch batch) => batch._b.Text.AsSpan(Start, Length);
    }

    private ReadOnlySpan<byte> PropertyName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
            return reader.ValueSpan;
        int written;
        try
        {
            written = reader.CopyString(_b.Text.AsSpan(_textLength));
        }
        catch (InvalidOperationException e)
        {
            throw new JsonException("A field name holds an invalid escape (a lone UTF-16 surrogate).", e);
        }

        _textLength += written;
        return _b.Text.AsSpan(_textLength - written, written);
    }

    // ---- Checks (openapi.yaml's limits; lengths in UTF-16 code units, as JSON Schema's maxLength) ----

    private void Check(int e, TelemetryEventKind kind)
    {
        Slot S(Field field) => _b.Slots[e * FieldCount + (int)field];
        if (!IsClientId(Text(S(Field.Id))))
            FailEvent(e, "id", "'id' must be 1 to 64 letters, digits, '_' or '-'.");
        if (S(Field.Time).Length == Absent && !HasError(e, "time"))
            FailEvent(e, "time", "'time' is required.");
        if (S(Field.Hostname).Length != Absent && !string.Equals(Encoding.UTF8.GetString(Text(S(Field.Hostname))), _hostname, StringComparison.OrdinalIgnoreCase))
            FailEvent(e, "hostname", $"'hostname' must be left out or be this agent's host name ('{_hostname}').");
        MaxLength(e, Field.ProcessName, 256);
        if (S(Field.ContainerId).Length != Absent && !IsContainerId(Text(S(Field.ContainerId))))
            FailEvent(e, "container.id", "'id' must be 1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit.");
        MaxLength(e, Field.ContainerName, 256, "container.name");
        MaxLength(e, Field.ContainerImage, 512, "container.image");

        switch (kind)
        {
            case TelemetryEventKind.Process_start:
                Pid(Field.Pid, required: true);
                Pid(Field.Ppid, required: false);
                if (S(Field.Executable).Length is Absent or 0 || !FitsIn(Text(S(Field.Executable)), 4096))
                    FailEvent(e, "executable", "'executable' must be 1 to 4096 characters.");
                MaxLength(e, Field.ParentProcessName, 256);
                Items(Field.Args, 256, 4096, "'args' holds at most 256 arguments of at most 4096 characters.");
                MaxLength(e, Field.User, 256);
                if (S(Field.Uid) is { Length: not Absent, Number: < 0 or > 4294967295 })
                    FailEvent(e, "uid", "'uid' must be between 0 and 4294967295.");
                MaxLength(e, Field.Cwd, 4096);
                MaxLength(e, Field.Interpreter, 4096);
                Address(Field.StdioRemoteAddress, required: false);
                Port(Field.StdioRemotePort, required: false);
                break;
            case TelemetryEventKind.Process_exit:
                Pid(Field.Pid, required: true);
                if (S(Field.ExitCode) is { Length: not Absent, Number: < int.MinValue or > int.MaxValue })
                    FailEvent(e, "exitCode", "'exitCode' must be a 32-bit integer.");
                break;
            case TelemetryEventKind.File_access:
                Pid(Field.Pid, required: false);
                var path = Text(S(Field.Path));
                if (path.IsEmpty || path[0] != '/' || !FitsIn(path, 4096))
                    FailEvent(e, "path", "'path' must be absolute and at most 4096 characters.");
                Required(Field.Operation);
                MaxLength(e, Field.NewPath, 4096);
                break;
            case TelemetryEventKind.Network_connect:
                Pid(Field.Pid, required: false);
                Required(Field.Protocol);
                Address(Field.LocalAddress, required: false);
                Port(Field.LocalPort, required: false);
                Address(Field.RemoteAddress, required: true);
                Port(Field.RemotePort, required: true);
                break;
            case TelemetryEventKind.Network_listen:
                Pid(Field.Pid, required: false);
                Required(Field.Protocol);
                Address(Field.LocalAddress, required: false);
                Port(Field.LocalPort, required: true);
                break;
            case TelemetryEventKind.Dns_query:
                Pid(Field.Pid, required: false);
                var name = Text(S(Field.Name));
                if (name.IsEmpty || !FitsIn(name, 253))
                    FailEvent(e, "name", "'name' must be 1 to 253 characters.");
                Items(Field.Answers, 64, 253, "'answers' holds at most 64 entries of at most 253 characters.");
                break;
            case TelemetryEventKind.Coverage_gap:
                Required(Field.Until);
                Required(Field.Reason);
                if (S(Field.Reason) is { Length: not Absent, Number: (int)CoverageGapReason.MissingBatches })
                    FailEvent(e, "reason", "'missing-batches' is the API's own finding (batches whose sequence numbers never arrived): an agent reports sensor-overflow, collector-overflow or agent-down.");
                if (S(Field.Until) is { Length: not Absent } until && S(Field.Time) is { Length: not Absent } from && until.Number < from.Number)
                    FailEvent(e, "until", "'until' must not be before 'time' (the span is time to until).");
                if (S(Field.LostEvents) is { Length: not Absent, Number: < 0 })
                    FailEvent(e, "lostEvents", "'lostEvents' must be 0 or more.");
                break;
        }

        if (S(Field.Redacted).Length != Absent)
        {
            var reasons = this.Items(e, Field.Redacted);
            var valid = reasons.Count <= 64;
            for (var i = 0; valid && i < reasons.Count; i++)
                valid = reasons[i].Length <= 48 && SecretRedactor.ReasonName.IsMatch(Encoding.ASCII.GetString(reasons[i]));
            if (!valid)
                FailEvent(e, "redacted", "'redacted' holds at most 64 reasons, each 1 to 48 lowercase letters, digits or '-' starting with a letter.");
        }

        void Required(Field field)
        {
            if (S(field).Length == Absent && !HasError(e, Names[(int)field]))
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' is required.");
        }

        void Pid(Field field, bool required) => Range(field, 0, int.MaxValue, required, "a process id (0 or more)");

        void Port(Field field, bool required) => Range(field, 0, 65535, required, "a port (0 to 65535)");

        void Range(Field field, long min, long max, bool required, string what)
        {
            var slot = S(field);
            if (slot.Length == Absent ? required : slot.Number < min || slot.Number > max)
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be {what}{(required ? " and is required" : "")}.");
        }

        void Address(Field field, bool required)
        {
            var slot = S(field);
            if (slot.Length == Absent ? required : slot.Length > 45 || !System.Net.IPAddress.TryParse(Text(slot), out _))
                FailEvent(e, Names[(int)field], $"'{Names[(int)field]}' must be an IPv4 or IPv6 address{(required ? " and is required" : "")}.");
        }

        void Items(Field field, int maxItems, int maxLength, string message)
        {
            var items = this.Items(e, field);
            var fits = items.Count <= maxItems;
            for (var i = 0; fits && i < items.Count; i++)
                fits = FitsIn(items[i], maxLength);
            if (!fits)
                FailEvent(e, Names[(int)field], message);
        }
    }

    private void MaxLength(int e, Field field, int max, string? name = null)
    {
        var slot = _b.Slots[e * FieldCount + (int)field];
        if (slot.Length > max && !FitsIn(Text(slot), max))
            FailEvent(e, name ?? Names[(int)field], $"'{(name ?? Names[(int)field]).Split('.')[^1]}' must be at most {max} characters.");
    }

    /// <summary>At most <paramref name="max"/> UTF-16 code units (a string's length), counted only when the bytes alone do not settle it.</summary>
    private static bool FitsIn(ReadOnlySpan<byte> utf8, int max) => utf8.Length <= max || Encoding.UTF8.GetCharCount(utf8) <= max;

    private static bool IsClientId(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= 64 && !id.ContainsAnyExcept(ClientIdBytes);

    private static bool IsContainerId(ReadOnlySpan<byte> id) =>
        id.Length is > 0 and <= 128 && char.IsAsciiLetterOrDigit((char)id[0]) && !id.ContainsAnyExcept(ContainerIdBytes);

    private static readonly SearchValues<byte> ClientIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"u8);

    private static readonly SearchValues<byte> ContainerIdBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-"u8);

    private void Fail(string key, string message)
    {
        _errors ??= new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!_errors.TryGetValue(key, out var messages))
            _errors[key] = messages = [];
        messages.Add(message);
    }

    private void FailEvent(int e, string? field, string message) => Fail(field is null ? $"events[{e}]" : $"events[{e}].{field}", message);

    private bool HasError(int e, string field) => _errors is not null && _errors.ContainsKey($"events[{e}].{field}");

    // ---- The schema's names ----

    /// <summary>The JSON name of each field (container fields by their name inside 'container').</summary>
    public static readonly string[] Names =
    [
        "id", "time", "hostname", "id", "name", "image", "processName",
        "pid", "ppid", "parentProcessName", "executable", "args", "user", "uid", "cwd", "exitCode",
        "path", "operation", "newPath", "protocol", "localAddress", "localPort", "remoteAddress", "remotePort", "name", "answers", "redacted",
        "interpreter", "stdio", "stdio.stdin", "stdio.stdout", "stdio.stderr", "stdio.remoteAddress", "stdio.remotePort", "direction", "result", "until", "reason", "lostEvents",
    ];

    private static readonly byte[][] Utf8Names = Names.Select(Encoding.UTF8.GetBytes).ToArray();

    private static long Bit(Field field) => 1L << (int)field;

    /// <summary>An event's own top-level fields (not kind or container, read apart), found by name.</summary>
    private static Field? Lookup(ReadOnlySpan<byte> name)
    {
        foreach (var field in ByLength[Math.Min(name.Length, ByLength.Length - 1)])
        {
            if (name.SequenceEqual(Utf8Names[(int)field]))
                return field;
        }

        return null;
    }

    private static readonly Field[][] ByLength = Enumerable.Range(0, 19)
        .Select(length => Enum.GetValues<Field>().Where(f => f is not (Field.ContainerId or Field.ContainerName or Field.ContainerImage or Field.Stdio) && (Bit(f) & StdioParts) == 0 && Utf8Names[(int)f].Length == length).ToArray())
        .ToArray();

    private static readonly long Common = Bit(Field.Id) | Bit(Field.Time) | Bit(Field.Hostname) | Bit(Field.ContainerId) | Bit(Field.ContainerName) | Bit(Field.ContainerImage) | Bit(Field.ProcessName) | Bit(Field.Redacted);

    /// <summary>The fields inside an event's 'stdio' (read apart, as the container's are).</summary>
    private const long StdioParts = 1L << (int)Field.Stdin | 1L << (int)Field.Stdout | 1L << (int)Field.Stderr | 1L << (int)Field.StdioRemoteAddress | 1L << (int)Field.StdioRemotePort;

    private static long Allowed(TelemetryEventKind kind) => Common | kind switch
    {
        TelemetryEventKind.Process_start => Bit(Field.Pid) | Bit(Field.Ppid) | Bit(Field.ParentProcessName) | Bit(Field.Executable) | Bit(Field.Args) | Bit(Field.User) | Bit(Field.Uid) | Bit(Field.Cwd)
            | Bit(Field.Interpreter) | Bit(Field.Stdio) | StdioParts,
        TelemetryEventKind.Process_exit => Bit(Field.Pid) | Bit(Field.ExitCode),
        TelemetryEventKind.File_access => Bit(Field.Pid) | Bit(Field.Path) | Bit(Field.Operation) | Bit(Field.NewPath),
        TelemetryEventKind.Network_connect => Bit(Field.Pid) | Bit(Field.Protocol) | Bit(Field.LocalAddress) | Bit(Field.LocalPort) | Bit(Field.RemoteAddress) | Bit(Field.RemotePort)
            | Bit(Field.Direction) | Bit(Field.Result),
        TelemetryEventKind.Network_listen => Bit(Field.Pid) | Bit(Field.Protocol) | Bit(Field.LocalAddress) | Bit(Field.LocalPort),
        TelemetryEventKind.Dns_query => Bit(Field.Pid) | Bit(Field.Name) | Bit(Field.Answers),
        TelemetryEventKind.Coverage_gap => Bit(Field.Until) | Bit(Field.Reason) | Bit(Field.LostEvents),
        _ => 0,
    };
}

using System.Text;
using System.Text.Json;
using Platform.Contracts;

namespace Platform.Api.Incidents;

/// <summary>
/// The fields of a stored flight-data event that detection looks at, read straight from its stored JSON, with
/// the JSON itself for evidence. Detection reads every event the API stores, so this is kept cheap: the kind
/// comes from the stored form's first bytes, the time from the segment's time column, numbers are read once,
/// and each string is made only when a rule first asks for it (most rules ask for two or three fields of an
/// event); names that repeat (processes, containers, users) are shared through <see cref="Names"/>.
/// </summary>
public sealed class DetectionEvent
{
    private enum Text
    {
        Id, ContainerId, ContainerName, Image, ProcessName, ParentProcessName, Executable, User, Cwd, Path, NewPath, RemoteAddress, Name,
    }

    private const int TextCount = (int)Text.Name + 1;

    /// <summary>Where each string field's token (quotes included) starts and how long it is; length 0 when absent.</summary>
    private Tokens _tokens;

    private Strings _strings;

    // Inline in the event (one object an event, not three): detection makes one for most events stored.
    [System.Runtime.CompilerServices.InlineArray(TextCount)]
    private struct Tokens
    {
        private (int Start, int Length) _first;
    }

    [System.Runtime.CompilerServices.InlineArray(TextCount)]
    private struct Strings
    {
        private string? _first;
    }
    private int _decoded;
    private int _argsStart, _argsLength;
    private Names? _names;

    public TelemetryEventKind Kind { get; private set; }
    public DateTimeOffset Time { get; private set; }
    public int? Pid { get; private set; }
    public int? Ppid { get; private set; }
    public int? RemotePort { get; private set; }
    public FimOperation? Operation { get; private set; }

    public string Id => Get(Text.Id) ?? "";
    public string ContainerId => Get(Text.ContainerId) ?? "";
    public string? ContainerName => Get(Text.ContainerName);
    public string? Image => Get(Text.Image);
    public string? ProcessName => Get(Text.ProcessName);
    public string? ParentProcessName => Get(Text.ParentProcessName);
    public string? Executable => Get(Text.Executable);
    public string? User => Get(Text.User);
    public string? Cwd => Get(Text.Cwd);
    public string? Path => Get(Text.Path);
    public string? NewPath => Get(Text.NewPath);
    public string? RemoteAddress => Get(Text.RemoteAddress);
    public string? Name => Get(Text.Name);

    /// <summary>
    /// A connection this node's process accepted (<c>direction: inbound</c>); absent or <c>outbound</c>: one it made.
    /// Read from the stored bytes when first asked (the kernel sensor's fields are found by their names, which occur
    /// nowhere else in a stored event: a string's quotes are escaped in it).
    /// </summary>
    public bool Inbound => Connection().Inbound;

    /// <summary>How a connection attempt ended (<c>result</c>); null when the collector could not tell (older collectors).</summary>
    public ConnectResult? Result => Connection().Result;

    /// <summary>An attempt that may have carried data: connected, or of an unknown result (collectors that see only connections made).</summary>
    public bool MayHaveConnected => Result is null or ConnectResult.Connected;

    private (bool Inbound, ConnectResult? Result) Connection()
    {
        if (_connection is { } known)
            return known;
        // Written after the remote address (Telemetry.EventJson): looked for in what follows it only.
        var (start, length) = _tokens[(int)Text.RemoteAddress];
        var json = Json.Span[(start + length)..];
        var direction = StringAfter(json, "\"direction\":\""u8);
        var result = StringAfter(json, "\"result\":\""u8);
        var value = (direction.SequenceEqual("inbound"u8), result.IsEmpty ? (ConnectResult?)null : Http.SpecEnum.FindUtf8<ConnectResult>(result) ?? ConnectResult.Failed);
        _connection = value;
        return value;
    }

    private (bool Inbound, ConnectResult? Result)? _connection;

    /// <summary>The interpreter the kernel ran for a <c>#!</c> script (the executable is then the script).</summary>
    public string? Interpreter => StringField("\"interpreter\":\""u8);

    /// <summary>
    /// The peer of the internet socket the process had as standard input or output when it started (the kernel
    /// sensor's <c>stdio</c>), or null: none, not a socket, or a socket of another family (a unix socket to journald).
    /// </summary>
    public (string Address, int? Port)? StdioSocketPeer()
    {
        var json = Json.Span;
        var at = json.IndexOf("\"stdio\":{"u8);
        if (at < 0)
            return null;
        var reader = new Utf8JsonReader(json[(at + "\"stdio\":"u8.Length)..]);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        var (socket, address, port) = (false, (string?)null, (int?)null);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            reader.Read();
            if ((property.SequenceEqual("stdin"u8) || property.SequenceEqual("stdout"u8)) && reader.TokenType == JsonTokenType.String)
                socket |= reader.ValueSpan.SequenceEqual("socket"u8);
            else if (property.SequenceEqual("remoteAddress"u8) && reader.TokenType == JsonTokenType.String)
                address = reader.GetString();
            else if (property.SequenceEqual("remotePort"u8))
                port = Int(ref reader);
            else
                reader.Skip();
        }

        return socket && address is not null ? (address, port) : null;
    }

    /// <summary>The string value that follows <paramref name="key"/> (<c>"name":"</c>) as stored, undecoded; empty when absent.</summary>
    private static ReadOnlySpan<byte> StringAfter(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key)
    {
        var at = json.IndexOf(key);
        if (at < 0)
            return default;
        var rest = json[(at + key.Length)..];
        var end = rest.IndexOf((byte)'"');
        return end < 0 ? default : rest[..end];
    }

    /// <summary>A string field found by its name (<c>"name":"</c>), decoded.</summary>
    private string? StringField(ReadOnlySpan<byte> key)
    {
        var json = Json.Span;
        var at = json.IndexOf(key);
        if (at < 0)
            return null;
        var reader = new Utf8JsonReader(json[(at + key.Length - 1)..]);
        return reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    /// <summary>
    /// False when no argument can hold <paramref name="text"/> (a look at the stored bytes; escaped arguments may,
    /// so they always can): spares making the argument vector of every process a rule might look at.
    /// </summary>
    public bool ArgsMayContain(ReadOnlySpan<byte> text)
    {
        if (_argsLength == 0)
            return false;
        var args = Json.Span.Slice(_argsStart, _argsLength);
        return args.IndexOf(text) >= 0 || args.IndexOf((byte)'\\') >= 0;
    }

    /// <summary>The path's characters into <paramref name="buffer"/>, when it is there, not escaped and fits (else false: ask <see cref="Path"/>).</summary>
    public bool TryPath(Span<char> buffer, out int length)
    {
        length = 0;
        var (start, tokenLength) = _tokens[(int)Text.Path];
        if (tokenLength == 0 || (_decoded & (1 << (int)Text.Path)) != 0)
            return false;
        var value = Json.Span.Slice(start + 1, tokenLength - 2);
        return value.IndexOf((byte)'\\') < 0 && Encoding.UTF8.TryGetChars(value, buffer, out length);
    }

    /// <summary>The argument vector, read from the JSON when asked for (most rules never look at it).</summary>
    public List<string>? Args => _argsLength == 0 ? null : ReadArgs();

    /// <summary>The event as stored (the API's JSON for it).</summary>
    public ReadOnlyMemory<byte> Json { get; private set; }

    /// <summary>The name detection goes by: the process name, else the executable's file name.</summary>
    public string? Program => ProcessName ?? (Executable is { } exe ? System.IO.Path.GetFileName(exe) : null);

    /// <summary>
    /// The event, to keep past the batch it was read from (evidence held in a rule's window, a finding): a batch's
    /// buffers are reused once it is detected, and a <see cref="Cursor"/>'s event is the next event once it moves
    /// on. Its fields stay where they were, in a copy of its JSON; a cursor's event gives one copy, however often asked.
    /// </summary>
    public DetectionEvent Retain()
    {
        if (_cursor)
            return _copy ??= Detached();
        if (!_retained)
        {
            Json = Json.ToArray();
            _retained = true;
        }

        return this;
    }

    private DetectionEvent Detached()
    {
        var copy = (DetectionEvent)MemberwiseClone();
        (copy._cursor, copy._copy, copy._retained, copy.Json) = (false, null, true, Json.ToArray());
        return copy;
    }

    private bool _retained, _cursor;
    private DetectionEvent? _copy;

    public TelemetryEvent ToContract() => JsonSerializer.Deserialize(Json.Span, Telemetry.Segments.EventInfo)!;

    /// <summary>Stored events start with their kind (<see cref="Telemetry.EventJson"/>); kinds no rule looks at are null.</summary>
    private static readonly (byte[] Prefix, TelemetryEventKind? Kind)[] Kinds =
    [
        ("{\"kind\":\"file_access\""u8.ToArray(), TelemetryEventKind.File_access),
        ("{\"kind\":\"process_start\""u8.ToArray(), TelemetryEventKind.Process_start),
        ("{\"kind\":\"network_connect\""u8.ToArray(), TelemetryEventKind.Network_connect),
        ("{\"kind\":\"dns_query\""u8.ToArray(), TelemetryEventKind.Dns_query),
        ("{\"kind\":\"process_exit\""u8.ToArray(), null),
        ("{\"kind\":\"network_listen\""u8.ToArray(), null),
        ("{\"kind\":\"coverage_gap\""u8.ToArray(), null), // a loss the agent reports: no rule looks at it
    ];

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

    /// <summary>Whether the stored event's kind is known from its first bytes, and which (null: a kind no rule looks at).</summary>
    private static bool KindOf(ReadOnlySpan<byte> json, out TelemetryEventKind? kind)
    {
        foreach (var (prefix, k) in Kinds)
        {
            if (json.StartsWith(prefix))
            {
                kind = k;
                return true;
            }
        }

        kind = null;
        return false;
    }

    /// <summary>The event stored as <paramref name="json"/> at <paramref name="ticks"/> (UTC), or null for a kind no rule looks at.</summary>
    public static DetectionEvent? Parse(ReadOnlyMemory<byte> json, long ticks, Names? names) => New(json, ticks, [], names);

    /// <summary>
    /// The event just written as <paramref name="json"/>, whose fields the writer says where it put
    /// (<see cref="Telemetry.EventJson.Write"/>'s tokens): the same event <see cref="Parse"/> reads, without parsing.
    /// </summary>
    public static DetectionEvent? Of(ReadOnlyMemory<byte> json, long ticks, ReadOnlySpan<(int Start, int Length)> fields, Names names) => New(json, ticks, fields, names);

    private static DetectionEvent? New(ReadOnlyMemory<byte> json, long ticks, ReadOnlySpan<(int Start, int Length)> fields, Names? names)
    {
        var e = new DetectionEvent();
        return e.Load(json, ticks, fields, names) ? e : null;
    }

    /// <summary>
    /// Makes this the event stored as <paramref name="json"/>: from where the writer put its fields when they are
    /// given (a handed batch), else parsed. False for a kind no rule looks at.
    /// </summary>
    private bool Load(ReadOnlyMemory<byte> json, long ticks, ReadOnlySpan<(int Start, int Length)> fields, Names? names)
    {
        var known = KindOf(json.Span, out var kind);
        if (known && kind is null)
            return false;
        (_tokens, _strings, _decoded, _argsStart, _argsLength, _names, _retained, _copy) = (default, default, 0, 0, 0, names, false, null);
        _connection = null;
        (Json, Time, Kind, Pid, Ppid, RemotePort, Operation) = (json, new DateTimeOffset(ticks, TimeSpan.Zero), default, null, null, null, null);
        if (!known || fields.IsEmpty)
        {
            Read(kind);
            return true;
        }

        Kind = kind!.Value;
        for (var text = 0; text < TextCount; text++)
            _tokens[text] = fields[(int)FieldOf[text]];
        (_argsStart, _argsLength) = fields[(int)Telemetry.Field.Args];
        Pid = Number(fields[(int)Telemetry.Field.Pid]);
        Ppid = Number(fields[(int)Telemetry.Field.Ppid]);
        RemotePort = Number(fields[(int)Telemetry.Field.RemotePort]);
        if (fields[(int)Telemetry.Field.Operation] is { Length: > 0 } operation)
        {
            var value = json.Span.Slice(operation.Start + 1, operation.Length - 2);
            Operation = Http.SpecEnum.FindUtf8<FimOperation>(value) ?? Http.SpecEnum.FromSpec<FimOperation>(Encoding.UTF8.GetString(value));
        }

        return true;
    }

    /// <summary>The writer's field of each string field detection reads.</summary>
    private static readonly Telemetry.Field[] FieldOf =
    [
        Telemetry.Field.Id, Telemetry.Field.ContainerId, Telemetry.Field.ContainerName, Telemetry.Field.ContainerImage, Telemetry.Field.ProcessName,
        Telemetry.Field.ParentProcessName, Telemetry.Field.Executable, Telemetry.Field.User, Telemetry.Field.Cwd, Telemetry.Field.Path, Telemetry.Field.NewPath,
        Telemetry.Field.RemoteAddress, Telemetry.Field.Name,
    ];

    private int? Number((int Start, int Length) token) =>
        token.Length > 0 && System.Buffers.Text.Utf8Parser.TryParse(Json.Span.Slice(token.Start, token.Length), out int value, out var used) && used == token.Length ? value : null;

    /// <summary>The top-level string properties detection reads, by name.</summary>
    private static readonly (byte[] Name, Text Field)[] StringProperties =
    [
        ("id"u8.ToArray(), Text.Id), ("processName"u8.ToArray(), Text.ProcessName), ("parentProcessName"u8.ToArray(), Text.ParentProcessName),
        ("executable"u8.ToArray(), Text.Executable), ("user"u8.ToArray(), Text.User), ("cwd"u8.ToArray(), Text.Cwd), ("path"u8.ToArray(), Text.Path),
        ("newPath"u8.ToArray(), Text.NewPath), ("remoteAddress"u8.ToArray(), Text.RemoteAddress), ("name"u8.ToArray(), Text.Name),
    ];

    private static readonly (byte[] Name, Text Field)[] ContainerProperties =
        [("id"u8.ToArray(), Text.ContainerId), ("name"u8.ToArray(), Text.ContainerName), ("image"u8.ToArray(), Text.Image)];

    private static Text? Find((byte[] Name, Text Field)[] properties, ReadOnlySpan<byte> name)
    {
        foreach (var (candidate, field) in properties)
        {
            if (name.SequenceEqual(candidate))
                return field;
        }

        return null;
    }

    private void Read(TelemetryEventKind? kind)
    {
        var reader = new Utf8JsonReader(Json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            reader.Read();
            if (Find(StringProperties, property) is { } field)
                Mark(ref reader, field);
            else if (property.SequenceEqual("pid"u8))
                Pid = Int(ref reader);
            else if (property.SequenceEqual("ppid"u8))
                Ppid = Int(ref reader);
            else if (property.SequenceEqual("remotePort"u8))
                RemotePort = Int(ref reader);
            else if (property.SequenceEqual("kind"u8))
                Kind = kind ?? Http.SpecEnum.FromSpec<TelemetryEventKind>(reader.GetString()!);
            else if (property.SequenceEqual("operation"u8))
                Operation = Http.SpecEnum.FindUtf8<FimOperation>(reader.ValueSpan) ?? Http.SpecEnum.FromSpec<FimOperation>(reader.GetString()!);
            else if (property.SequenceEqual("container"u8))
                ReadContainer(ref reader);
            else if (property.SequenceEqual("args"u8))
            {
                _argsStart = (int)reader.TokenStartIndex;
                reader.Skip();
                _argsLength = (int)reader.BytesConsumed - _argsStart;
            }
            else
                reader.Skip(); // the time too: the segment's time column has it, as ticks
        }
    }

    private static int? Int(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;

    private void Mark(ref Utf8JsonReader reader, Text field)
    {
        if (reader.TokenType == JsonTokenType.String)
            _tokens[(int)field] = ((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2);
        else
            reader.Skip();
    }

    private void ReadContainer(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            reader.Read();
            if (Find(ContainerProperties, property) is { } field)
                Mark(ref reader, field);
            else
                reader.Skip();
        }
    }

    private string? Get(Text field)
    {
        var bit = 1 << (int)field;
        if ((_decoded & bit) != 0)
            return _strings[(int)field];
        _decoded |= bit;
        var (start, length) = _tokens[(int)field];
        if (length == 0)
            return null;
        var token = Json.Span.Slice(start, length);
        var value = token[1..^1];
        string text;
        if (value.IndexOf((byte)'\\') < 0)
            text = field is Text.Id or Text.Path or Text.NewPath or Text.Name ? Encoding.UTF8.GetString(value) : _names?.Of(value) ?? Encoding.UTF8.GetString(value);
        else
        {
            var reader = new Utf8JsonReader(token);
            reader.Read();
            text = reader.GetString()!;
        }

        return _strings[(int)field] = text;
    }

    private List<string>? ReadArgs()
    {
        var reader = new Utf8JsonReader(Json.Span.Slice(_argsStart, _argsLength));
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
            return null;
        var items = new List<string>();
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
            items.Add(reader.GetString()!);
        return items;
    }

    /// <summary>
    /// Names read before (process names, executables, containers, images, users, working directories): one string
    /// for each, not one an event. Bounded: emptied when it grows past a few thousand names. One per detector, used
    /// by one pass at a time (it is not thread-safe).
    /// </summary>
    public sealed class Names
    {
        private const int Limit = 4096;
        private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

        public string Of(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length > 256)
                return Encoding.UTF8.GetString(utf8);
            Span<char> chars = stackalloc char[256];
            if (!Encoding.UTF8.TryGetChars(utf8, chars, out var length))
                return Encoding.UTF8.GetString(utf8);
            var lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars[..length], out var known))
                return known;
            if (_names.Count >= Limit)
                _names.Clear();
            var name = new string(chars[..length]);
            _names[name] = name;
            return name;
        }
    }
}

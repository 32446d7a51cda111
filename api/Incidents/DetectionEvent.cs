namespace Platform.Api.Incidents;

/// <summary>
/// The fields of a stored flight-data event that detection looks at, read straight from its stored JSON, with
/// the JSON itself for evidence. Detection reads every event the API stores, so this is kept cheap: the kind
/// comes from the stored form's first bytes, the time from the segment's time column, numbers are read once,
/// and each string is made only when a rule first asks for it (most rules ask for two or three fields of an
/// event); names that repeat (processes, containers, users) are shared through <see cref="Names"/>.
/// </summary>
public sealed partial class DetectionEvent
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
}

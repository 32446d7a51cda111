namespace Platform.Api.Incidents;

/// <summary>
/// Reading a stored event: its kind from its first bytes, then its fields from where the writer says it put them
/// (a handed batch) or by parsing the JSON (a batch read back from storage). Either way, the same event.
/// </summary>
public sealed partial class DetectionEvent
{
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
}

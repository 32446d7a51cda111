using System.Text.Json;
using Platform.Contracts;

namespace Platform.Api.Incidents;

/// <summary>
/// The fields of a stored flight-data event that detection looks at, read straight from its stored JSON (no
/// object per field it does not need), with the JSON itself for evidence.
/// </summary>
public sealed class DetectionEvent
{
    public TelemetryEventKind Kind { get; private set; }
    public string Id { get; private set; } = "";
    public DateTimeOffset Time { get; private set; }
    public string ContainerId { get; private set; } = "";
    public string? ContainerName { get; private set; }
    public string? Image { get; private set; }
    public string? ProcessName { get; private set; }
    public int? Pid { get; private set; }
    public int? Ppid { get; private set; }
    public string? ParentProcessName { get; private set; }
    public string? Executable { get; private set; }
    /// <summary>The argument vector, read from the JSON when asked for (most rules never look at it).</summary>
    public List<string>? Args => _argsLength == 0 ? null : ReadArgs();

    private int _argsStart, _argsLength;
    public string? User { get; private set; }
    public string? Cwd { get; private set; }
    public string? Path { get; private set; }
    public FimOperation? Operation { get; private set; }
    public string? NewPath { get; private set; }
    public string? RemoteAddress { get; private set; }
    public int? RemotePort { get; private set; }
    public string? Name { get; private set; }

    /// <summary>The event as stored (the API's JSON for it).</summary>
    public ReadOnlyMemory<byte> Json { get; private set; }

    /// <summary>The name detection goes by: the process name, else the executable's file name.</summary>
    public string? Program => ProcessName ?? (Executable is { } exe ? System.IO.Path.GetFileName(exe) : null);

    /// <summary>Keeps the JSON past the segment it was read from (evidence held in a rule's window).</summary>
    public DetectionEvent Retain()
    {
        Json = Json.ToArray();
        return this;
    }

    public TelemetryEvent ToContract() => JsonSerializer.Deserialize(Json.Span, Telemetry.Segments.EventInfo)!;

    /// <summary>Kinds no rule looks at.</summary>
    private static readonly byte[][] Ignored = ["{\"kind\":\"process_exit\""u8.ToArray(), "{\"kind\":\"network_listen\""u8.ToArray()];

    /// <summary>The event, or null for a kind no rule looks at (stored events have their kind first).</summary>
    public static DetectionEvent? Parse(ReadOnlyMemory<byte> json)
    {
        foreach (var prefix in Ignored)
        {
            if (json.Span.StartsWith(prefix))
                return null;
        }

        var e = new DetectionEvent { Json = json };
        var reader = new Utf8JsonReader(json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            reader.Read();
            if (property.SequenceEqual("kind"u8))
                e.Kind = Http.SpecEnum.FromSpec<TelemetryEventKind>(reader.GetString()!);
            else if (property.SequenceEqual("id"u8))
                e.Id = reader.GetString()!;
            else if (property.SequenceEqual("time"u8))
                e.Time = reader.GetDateTimeOffset().ToUniversalTime();
            else if (property.SequenceEqual("container"u8))
                e.ReadContainer(ref reader);
            else if (property.SequenceEqual("processName"u8))
                e.ProcessName = reader.GetString();
            else if (property.SequenceEqual("pid"u8))
                e.Pid = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : null;
            else if (property.SequenceEqual("ppid"u8))
                e.Ppid = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : null;
            else if (property.SequenceEqual("parentProcessName"u8))
                e.ParentProcessName = reader.GetString();
            else if (property.SequenceEqual("executable"u8))
                e.Executable = reader.GetString();
            else if (property.SequenceEqual("args"u8))
            {
                e._argsStart = (int)reader.TokenStartIndex;
                reader.Skip();
                e._argsLength = (int)reader.BytesConsumed - e._argsStart;
            }
            else if (property.SequenceEqual("user"u8))
                e.User = reader.GetString();
            else if (property.SequenceEqual("cwd"u8))
                e.Cwd = reader.GetString();
            else if (property.SequenceEqual("path"u8))
                e.Path = reader.GetString();
            else if (property.SequenceEqual("operation"u8))
                e.Operation = Http.SpecEnum.FromSpec<FimOperation>(reader.GetString()!);
            else if (property.SequenceEqual("newPath"u8))
                e.NewPath = reader.GetString();
            else if (property.SequenceEqual("remoteAddress"u8))
                e.RemoteAddress = reader.GetString();
            else if (property.SequenceEqual("remotePort"u8))
                e.RemotePort = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : null;
            else if (property.SequenceEqual("name"u8))
                e.Name = reader.GetString();
            else
                reader.Skip();
        }

        return e;
    }

    private void ReadContainer(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            return;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            reader.Read();
            if (property.SequenceEqual("id"u8))
                ContainerId = reader.GetString() ?? "";
            else if (property.SequenceEqual("name"u8))
                ContainerName = reader.GetString();
            else if (property.SequenceEqual("image"u8))
                Image = reader.GetString();
            else
                reader.Skip();
        }
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

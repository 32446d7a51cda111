using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Contracts;

/// <summary>
/// Writes flight-data batches, the client's hottest path (an agent pushes up to hundreds of thousands of events a
/// second), straight to the writer: the serializer's polymorphic, metadata-driven path cost ~2 us an event, most
/// of a push's client-side CPU. The JSON is what the serializer writes, less null properties (absent and null
/// mean the same in the contract). Kept honest by a test that fills every property of every event kind by
/// reflection and compares with the serializer: a property added to the contract and not written here fails it.
/// Reading a batch is left to the serializer.
/// </summary>
internal sealed class TelemetryBatchWriter : JsonConverter<TelemetryBatch>
{
    private static readonly JsonEncodedText Kind = JsonEncodedText.Encode("kind"), Id = JsonEncodedText.Encode("id"), Sequence = JsonEncodedText.Encode("sequence"),
        Events = JsonEncodedText.Encode("events"), Time = JsonEncodedText.Encode("time"), Hostname = JsonEncodedText.Encode("hostname"),
        Container = JsonEncodedText.Encode("container"), Name = JsonEncodedText.Encode("name"), Image = JsonEncodedText.Encode("image"),
        ProcessName = JsonEncodedText.Encode("processName"), Pid = JsonEncodedText.Encode("pid"), Ppid = JsonEncodedText.Encode("ppid"),
        ParentProcessName = JsonEncodedText.Encode("parentProcessName"), Executable = JsonEncodedText.Encode("executable"), Args = JsonEncodedText.Encode("args"),
        User = JsonEncodedText.Encode("user"), Uid = JsonEncodedText.Encode("uid"), Cwd = JsonEncodedText.Encode("cwd"), ExitCode = JsonEncodedText.Encode("exitCode"),
        Path = JsonEncodedText.Encode("path"), Operation = JsonEncodedText.Encode("operation"), NewPath = JsonEncodedText.Encode("newPath"),
        Protocol = JsonEncodedText.Encode("protocol"), LocalAddress = JsonEncodedText.Encode("localAddress"), LocalPort = JsonEncodedText.Encode("localPort"),
        RemoteAddress = JsonEncodedText.Encode("remoteAddress"), RemotePort = JsonEncodedText.Encode("remotePort"), Answers = JsonEncodedText.Encode("answers"),
        Redacted = JsonEncodedText.Encode("redacted"), Interpreter = JsonEncodedText.Encode("interpreter"), Stdio = JsonEncodedText.Encode("stdio"),
        Stdin = JsonEncodedText.Encode("stdin"), Stdout = JsonEncodedText.Encode("stdout"), Stderr = JsonEncodedText.Encode("stderr"),
        Direction = JsonEncodedText.Encode("direction"), Result = JsonEncodedText.Encode("result"), Until = JsonEncodedText.Encode("until"),
        Reason = JsonEncodedText.Encode("reason"), LostEvents = JsonEncodedText.Encode("lostEvents");

    private static readonly JsonEncodedText ProcessStart = JsonEncodedText.Encode("process_start"), ProcessExit = JsonEncodedText.Encode("process_exit"),
        FileAccess = JsonEncodedText.Encode("file_access"), NetworkConnect = JsonEncodedText.Encode("network_connect"),
        NetworkListen = JsonEncodedText.Encode("network_listen"), DnsQuery = JsonEncodedText.Encode("dns_query"), CoverageGap = JsonEncodedText.Encode("coverage_gap");

    private static readonly Dictionary<FimOperation, JsonEncodedText> Operations = EncodedNames<FimOperation>();
    private static readonly Dictionary<NetworkProtocol, JsonEncodedText> Protocols = EncodedNames<NetworkProtocol>();
    private static readonly Dictionary<StdioKind, JsonEncodedText> StdioKinds = EncodedNames<StdioKind>();
    private static readonly Dictionary<NetworkDirection, JsonEncodedText> Directions = EncodedNames<NetworkDirection>();
    private static readonly Dictionary<ConnectResult, JsonEncodedText> Results = EncodedNames<ConnectResult>();
    private static readonly Dictionary<CoverageGapReason, JsonEncodedText> Reasons = EncodedNames<CoverageGapReason>();

    private JsonSerializerOptions? _reading;

    public override TelemetryBatch? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // The same options without this converter.
        if (_reading is null)
        {
            var reading = new JsonSerializerOptions(options);
            reading.Converters.Remove(this);
            _reading = reading;
        }

        return JsonSerializer.Deserialize(ref reader, _reading.TypeInfo<TelemetryBatch>());
    }

    public override void Write(Utf8JsonWriter writer, TelemetryBatch batch, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString(Id, batch.Id);
        writer.WriteNumber(Sequence, batch.Sequence);
        writer.WriteStartArray(Events);
        foreach (var e in batch.Events)
            WriteEvent(writer, e, options);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>One event, as the serializer would write it with <paramref name="options"/> less its null properties.</summary>
    internal static void WriteEvent(Utf8JsonWriter writer, TelemetryEvent e, JsonSerializerOptions options)
    {
        if (e.HasAdditionalProperties || Known(e) is not { } kind)
        {
            JsonSerializer.Serialize(writer, e, options.TypeInfo<TelemetryEvent>()); // something this writer does not know: the serializer does
            return;
        }

        writer.WriteStartObject();
        writer.WriteString(Kind, kind);
        WriteCommon(writer, e);
        switch (e)
        {
            case ProcessStartEvent p:
                Number(writer, Pid, p.Pid);
                Number(writer, Ppid, p.Ppid);
                Text(writer, ParentProcessName, p.ParentProcessName);
                Text(writer, Executable, p.Executable);
                Texts(writer, Args, p.Args);
                Text(writer, User, p.User);
                Number(writer, Uid, p.Uid);
                Text(writer, Cwd, p.Cwd);
                Text(writer, Interpreter, p.Interpreter);
                if (p.Stdio is { } stdio)
                {
                    writer.WriteStartObject(Stdio);
                    SpecEnum(writer, Stdin, stdio.Stdin, StdioKinds);
                    SpecEnum(writer, Stdout, stdio.Stdout, StdioKinds);
                    SpecEnum(writer, Stderr, stdio.Stderr, StdioKinds);
                    Text(writer, RemoteAddress, stdio.RemoteAddress);
                    Number(writer, RemotePort, stdio.RemotePort);
                    writer.WriteEndObject();
                }

                break;
            case ProcessExitEvent p:
                Number(writer, Pid, p.Pid);
                Number(writer, ExitCode, p.ExitCode);
                break;
            case FileAccessEvent f:
                Number(writer, Pid, f.Pid);
                Text(writer, Path, f.Path);
                writer.WriteString(Operation, Operations[f.Operation]);
                Text(writer, NewPath, f.NewPath);
                break;
            case NetworkConnectEvent n:
                WriteLocalEnd(writer, n.Pid, n.Protocol, n.LocalAddress, n.LocalPort);
                Text(writer, RemoteAddress, n.RemoteAddress);
                Number(writer, RemotePort, n.RemotePort);
                SpecEnum(writer, Direction, n.Direction, Directions);
                SpecEnum(writer, Result, n.Result, Results);
                break;
            case NetworkListenEvent n:
                WriteLocalEnd(writer, n.Pid, n.Protocol, n.LocalAddress, n.LocalPort);
                break;
            case DnsQueryEvent d:
                Number(writer, Pid, d.Pid);
                Text(writer, Name, d.Name);
                Texts(writer, Answers, d.Answers);
                break;
            case CoverageGapEvent g:
                writer.WriteString(Until, g.Until);
                writer.WriteString(Reason, Reasons[g.Reason]);
                Number(writer, LostEvents, g.LostEvents);
                break;
        }

        writer.WriteEndObject();
    }

    /// <summary>The discriminator of the event kinds written here (exactly these classes, not classes derived from them).</summary>
    private static JsonEncodedText? Known(TelemetryEvent e) => e.GetType() switch
    {
        var t when t == typeof(ProcessStartEvent) => ProcessStart,
        var t when t == typeof(ProcessExitEvent) => ProcessExit,
        var t when t == typeof(FileAccessEvent) => FileAccess,
        var t when t == typeof(NetworkConnectEvent) => NetworkConnect,
        var t when t == typeof(NetworkListenEvent) => NetworkListen,
        var t when t == typeof(DnsQueryEvent) => DnsQuery,
        var t when t == typeof(CoverageGapEvent) => CoverageGap,
        _ => null,
    };

    private static void WriteCommon(Utf8JsonWriter writer, TelemetryEvent e)
    {
        Text(writer, Id, e.Id);
        writer.WriteString(Time, e.Time);
        Text(writer, Hostname, e.Hostname);
        if (e.Container is { } container)
        {
            writer.WriteStartObject(Container);
            Text(writer, Id, container.Id);
            Text(writer, Name, container.Name);
            Text(writer, Image, container.Image);
            writer.WriteEndObject();
        }

        Text(writer, ProcessName, e.ProcessName);
        Texts(writer, Redacted, e.Redacted);
    }

    private static void WriteLocalEnd(Utf8JsonWriter writer, int? pid, NetworkProtocol protocol, string? address, int? port)
    {
        Number(writer, Pid, pid);
        writer.WriteString(Protocol, Protocols[protocol]);
        Text(writer, LocalAddress, address);
        Number(writer, LocalPort, port);
    }

    private static void Text(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
            writer.WriteString(name, value);
    }

    private static void Texts(Utf8JsonWriter writer, JsonEncodedText name, IReadOnlyList<string>? values)
    {
        if (values is null)
            return;
        writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static void SpecEnum<T>(Utf8JsonWriter writer, JsonEncodedText name, T? value, Dictionary<T, JsonEncodedText> names) where T : struct, System.Enum
    {
        if (value is { } v)
            writer.WriteString(name, names[v]);
    }

    private static void Number(Utf8JsonWriter writer, JsonEncodedText name, long? value)
    {
        if (value is { } number)
            writer.WriteNumber(name, number);
    }

    /// <summary>Each value's name in the contract, from the generated enum's attributes.</summary>
    private static Dictionary<T, JsonEncodedText> EncodedNames<T>() where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(v => v, v => JsonEncodedText.Encode(SpecNames<T>.Name(v)));
}

/// <summary>
/// Writes one flight-data event as <see cref="TelemetryBatchWriter"/> writes it in a batch (the serializer's JSON less
/// null properties, without its metadata-driven polymorphic path): for the agent, which writes each event it records
/// to its spool as JSON.
/// </summary>
public static class TelemetryEventWriter
{
    /// <param name="options">Used for what the writer does not know (an event with properties beyond the contract's), as the serializer's.</param>
    public static void Write(Utf8JsonWriter writer, TelemetryEvent e, JsonSerializerOptions options) => TelemetryBatchWriter.WriteEvent(writer, e, options);
}

public partial class TelemetryEvent
{
    /// <summary>Whether properties beyond the contract's were set (without creating the dictionary to find out).</summary>
    internal bool HasAdditionalProperties => _additionalProperties is { Count: > 0 };
}

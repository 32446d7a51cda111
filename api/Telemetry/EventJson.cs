using System.Text.Json;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>
/// Writes an event as stored (and as it appears in bundles' events.jsonl): <c>kind</c> first, then the common
/// fields, then the kind's own, in the order of openapi.yaml; absent values left out; times UTC with 'Z'.
/// Written from the pushed batch's text (<see cref="EventBatch"/>) because this runs for every event ingested;
/// <see cref="Segments.EventInfo"/> reads it back.
/// </summary>
public static class EventJson
{
    private static readonly Dictionary<TelemetryEventKind, JsonEncodedText> KindNames = Enum.GetValues<TelemetryEventKind>().ToDictionary(k => k, k => JsonEncodedText.Encode(SpecEnum.ToSpec(k)));
    private static readonly JsonEncodedText[] OperationNames = Enum.GetValues<FimOperation>().Select(o => JsonEncodedText.Encode(SpecEnum.ToSpec(o))).ToArray();
    private static readonly JsonEncodedText[] ProtocolNames = Enum.GetValues<NetworkProtocol>().Select(p => JsonEncodedText.Encode(SpecEnum.ToSpec(p))).ToArray();

    /// <summary>Writes event <paramref name="e"/> of the batch, on the host named by <paramref name="hostname"/>.</summary>
    public static void Write(Utf8JsonWriter w, EventBatch b, int e, JsonEncodedText hostname)
    {
        var kind = b.Kind(e);
        w.WriteStartObject();
        w.WriteString("kind"u8, KindNames[kind]);
        w.WriteString("id"u8, b.Text(e, Field.Id));
        w.WritePropertyName("time"u8);
        Span<byte> time = stackalloc byte[Rfc3339.MaxLength];
        w.WriteStringValue(time[..Rfc3339.Write(b.Ticks(e), time)]);
        w.WriteString("hostname"u8, hostname);
        if (b.Has(e, Field.ContainerId))
        {
            w.WriteStartObject("container"u8);
            w.WriteString("id"u8, b.Text(e, Field.ContainerId));
            Optional(w, "name"u8, b, e, Field.ContainerName);
            Optional(w, "image"u8, b, e, Field.ContainerImage);
            w.WriteEndObject();
        }

        Optional(w, "processName"u8, b, e, Field.ProcessName);
        switch (kind)
        {
            case TelemetryEventKind.Process_start:
                Number(w, "pid"u8, b, e, Field.Pid);
                Number(w, "ppid"u8, b, e, Field.Ppid);
                Optional(w, "parentProcessName"u8, b, e, Field.ParentProcessName);
                w.WriteString("executable"u8, b.Text(e, Field.Executable));
                Items(w, "args"u8, b, e, Field.Args);
                Optional(w, "user"u8, b, e, Field.User);
                Number(w, "uid"u8, b, e, Field.Uid);
                Optional(w, "cwd"u8, b, e, Field.Cwd);
                break;
            case TelemetryEventKind.Process_exit:
                Number(w, "pid"u8, b, e, Field.Pid);
                Number(w, "exitCode"u8, b, e, Field.ExitCode);
                break;
            case TelemetryEventKind.File_access:
                Number(w, "pid"u8, b, e, Field.Pid);
                w.WriteString("path"u8, b.Text(e, Field.Path));
                w.WriteString("operation"u8, OperationNames[(int)b.Number(e, Field.Operation)!.Value]);
                Optional(w, "newPath"u8, b, e, Field.NewPath);
                break;
            case TelemetryEventKind.Network_connect:
                Number(w, "pid"u8, b, e, Field.Pid);
                w.WriteString("protocol"u8, ProtocolNames[(int)b.Number(e, Field.Protocol)!.Value]);
                Optional(w, "localAddress"u8, b, e, Field.LocalAddress);
                Number(w, "localPort"u8, b, e, Field.LocalPort);
                Optional(w, "remoteAddress"u8, b, e, Field.RemoteAddress);
                Number(w, "remotePort"u8, b, e, Field.RemotePort);
                break;
            case TelemetryEventKind.Network_listen:
                Number(w, "pid"u8, b, e, Field.Pid);
                w.WriteString("protocol"u8, ProtocolNames[(int)b.Number(e, Field.Protocol)!.Value]);
                Optional(w, "localAddress"u8, b, e, Field.LocalAddress);
                Number(w, "localPort"u8, b, e, Field.LocalPort);
                break;
            case TelemetryEventKind.Dns_query:
                Number(w, "pid"u8, b, e, Field.Pid);
                w.WriteString("name"u8, b.Text(e, Field.Name));
                Items(w, "answers"u8, b, e, Field.Answers);
                break;
        }

        w.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter w, ReadOnlySpan<byte> name, EventBatch b, int e, Field field)
    {
        if (b.Has(e, field))
            w.WriteString(name, b.Text(e, field));
    }

    private static void Number(Utf8JsonWriter w, ReadOnlySpan<byte> name, EventBatch b, int e, Field field)
    {
        if (b.Number(e, field) is { } value)
            w.WriteNumber(name, value);
    }

    private static void Items(Utf8JsonWriter w, ReadOnlySpan<byte> name, EventBatch b, int e, Field field)
    {
        if (!b.Has(e, field))
            return;
        var items = b.Items(e, field);
        w.WriteStartArray(name);
        for (var i = 0; i < items.Count; i++)
            w.WriteStringValue(items[i]);
        w.WriteEndArray();
    }
}

using System.Text.Json;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>
/// Writes an event as stored (and as it appears in bundles' events.jsonl): <c>kind</c> first, then the common
/// fields, then the kind's own, in the order of openapi.yaml; absent values left out; times UTC with 'Z'.
/// Written by hand because this runs for every event ingested and the serializer's polymorphic path is
/// several times slower; <see cref="Segments.EventInfo"/> reads it back.
/// </summary>
public static class EventJson
{
    public static void Write(Utf8JsonWriter w, TelemetryEvent e, string hostname)
    {
        w.WriteStartObject();
        w.WriteString("kind"u8, Kind(e));
        w.WriteString("id"u8, e.Id);
        w.WritePropertyName("time"u8);
        Span<byte> time = stackalloc byte[40];
        e.Time.UtcDateTime.TryFormat(time, out var length, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
        w.WriteStringValue(time[..length]);
        w.WriteString("hostname"u8, hostname);
        if (e.Container is { } c)
        {
            w.WriteStartObject("container"u8);
            w.WriteString("id"u8, c.Id);
            Optional(w, "name"u8, c.Name);
            Optional(w, "image"u8, c.Image);
            w.WriteEndObject();
        }

        Optional(w, "processName"u8, e.ProcessName);
        switch (e)
        {
            case ProcessStartEvent start:
                Optional(w, "pid"u8, start.Pid);
                Optional(w, "ppid"u8, start.Ppid);
                Optional(w, "parentProcessName"u8, start.ParentProcessName);
                w.WriteString("executable"u8, start.Executable);
                Optional(w, "args"u8, start.Args);

                Optional(w, "user"u8, start.User);
                if (start.Uid is { } uid)
                    w.WriteNumber("uid"u8, uid);
                Optional(w, "cwd"u8, start.Cwd);
                break;
            case ProcessExitEvent exit:
                Optional(w, "pid"u8, exit.Pid);
                Optional(w, "exitCode"u8, exit.ExitCode);
                break;
            case FileAccessEvent file:
                Optional(w, "pid"u8, file.Pid);
                w.WriteString("path"u8, file.Path);
                w.WriteString("operation"u8, SpecEnum.ToSpec(file.Operation));
                Optional(w, "newPath"u8, file.NewPath);
                break;
            case NetworkConnectEvent connect:
                Optional(w, "pid"u8, connect.Pid);
                w.WriteString("protocol"u8, SpecEnum.ToSpec(connect.Protocol));
                Optional(w, "localAddress"u8, connect.LocalAddress);
                Optional(w, "localPort"u8, connect.LocalPort);
                Optional(w, "remoteAddress"u8, connect.RemoteAddress);
                Optional(w, "remotePort"u8, connect.RemotePort);
                break;
            case NetworkListenEvent listen:
                Optional(w, "pid"u8, listen.Pid);
                w.WriteString("protocol"u8, SpecEnum.ToSpec(listen.Protocol));
                Optional(w, "localAddress"u8, listen.LocalAddress);
                Optional(w, "localPort"u8, listen.LocalPort);
                break;
            case DnsQueryEvent dns:
                Optional(w, "pid"u8, dns.Pid);
                w.WriteString("name"u8, dns.Name);
                Optional(w, "answers"u8, dns.Answers);
                break;
        }

        w.WriteEndObject();
    }

    private static string Kind(TelemetryEvent e) => SpecEnum.ToSpec(Segments.KindOf(e));

    private static void Optional(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
            w.WriteString(name, value);
    }

    private static void Optional(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyList<string>? values)
    {
        if (values is null)
            return;
        w.WriteStartArray(name);
        foreach (var value in values)
            w.WriteStringValue(value);
        w.WriteEndArray();
    }

    private static void Optional(Utf8JsonWriter w, ReadOnlySpan<byte> name, int? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
    }
}

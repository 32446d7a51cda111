using System.Buffers;
using System.Globalization;
using System.Text;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>
/// One human-readable line an event, for the short view and the bundle's timeline.txt:
/// <c>2026-11-22T10:01:02.000Z web-01 [web-7f9c] java(1234) -> sh(1240): cp /etc/passwd /tmp/p (user app)</c>.
/// Control characters from agent input are escaped, so an event is always exactly one line. Written as UTF-8
/// straight into the segment's buffer: this runs for every event ingested.
/// </summary>
public static class Timeline
{
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c).ToArray());

    /// <summary>Writes the event's line, without its line end.</summary>
    public static void Write(IBufferWriter<byte> output, TelemetryEvent e, string hostname)
    {
        var line = new LineWriter(output);
        var time = output.GetSpan(32);
        e.Time.UtcDateTime.TryFormat(time, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        output.Advance(length);
        line.Ascii(" ").Text(hostname);
        if (e.Container is { } container)
            line.Ascii(" [").Text(container.Name ?? container.Id).Ascii("]");
        line.Ascii(" ");
        switch (e)
        {
            case ProcessStartEvent start:
                line.Process(start.ParentProcessName, start.Ppid).Ascii(" -> ")
                    .Process(start.ProcessName ?? Path.GetFileName(start.Executable), start.Pid).Ascii(": ");
                if (start.Args is { Count: > 0 } args)
                {
                    for (var i = 0; i < args.Count; i++)
                        (i == 0 ? line : line.Ascii(" ")).Text(args[i]);
                }
                else
                {
                    line.Text(start.Executable);
                }

                if (start.User is { } user)
                    line.Ascii(" (user ").Text(user).Ascii(")");
                break;
            case ProcessExitEvent exit:
                line.Process(exit.ProcessName, exit.Pid).Ascii(" exited");
                if (exit.ExitCode is { } code)
                    line.Ascii(" ").Number(code);
                break;
            case FileAccessEvent file:
                line.Process(file.ProcessName, file.Pid).Ascii(" ").Ascii(SpecEnum.ToSpec(file.Operation)).Ascii(" ").Text(file.Path);
                if (file.NewPath is { } newPath)
                    line.Ascii(" -> ").Text(newPath);
                break;
            case NetworkConnectEvent connect:
                line.Process(connect.ProcessName, connect.Pid).Ascii(" connect ").Ascii(SpecEnum.ToSpec(connect.Protocol)).Ascii(" ")
                    .Endpoint(connect.LocalAddress, connect.LocalPort).Ascii(" -> ").Endpoint(connect.RemoteAddress, connect.RemotePort);
                break;
            case NetworkListenEvent listen:
                line.Process(listen.ProcessName, listen.Pid).Ascii(" listen ").Ascii(SpecEnum.ToSpec(listen.Protocol)).Ascii(" ")
                    .Endpoint(listen.LocalAddress, listen.LocalPort);
                break;
            case DnsQueryEvent dns:
                line.Process(dns.ProcessName, dns.Pid).Ascii(" dns ").Text(dns.Name);
                if (dns.Answers is { Count: > 0 } answers)
                {
                    line.Ascii(" -> ");
                    for (var i = 0; i < answers.Count; i++)
                        (i == 0 ? line : line.Ascii(", ")).Text(answers[i]);
                }

                break;
        }
    }

    private readonly struct LineWriter(IBufferWriter<byte> output)
    {
        public LineWriter Ascii(string text)
        {
            var span = output.GetSpan(text.Length);
            for (var i = 0; i < text.Length; i++)
                span[i] = (byte)text[i];
            output.Advance(text.Length);
            return this;
        }

        /// <summary>Agent input: UTF-8, with control characters escaped (\n, \r, \t, \u00XX).</summary>
        public LineWriter Text(string text)
        {
            var rest = text.AsSpan();
            while (!rest.IsEmpty)
            {
                var control = rest.IndexOfAny(ControlCharacters);
                var plain = control < 0 ? rest : rest[..control];
                Encoding.UTF8.GetBytes(plain, output);
                if (control < 0)
                    break;
                Ascii(rest[control] switch
                {
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    var c => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                });
                rest = rest[(control + 1)..];
            }

            return this;
        }

        public LineWriter Number(long value)
        {
            var span = output.GetSpan(20);
            value.TryFormat(span, out var length, default, CultureInfo.InvariantCulture);
            output.Advance(length);
            return this;
        }

        public LineWriter Process(string? name, int? pid)
        {
            Text(name ?? "?").Ascii("(");
            return (pid is { } p ? Number(p) : Ascii("?")).Ascii(")");
        }

        public LineWriter Endpoint(string? address, int? port)
        {
            // IPv6 addresses are bracketed so the port stays readable.
            if (address is not null && address.Contains(':', StringComparison.Ordinal))
                Ascii("[").Text(address).Ascii("]");
            else
                Text(address ?? "*");
            Ascii(":");
            return port is { } p ? Number(p) : Ascii("*");
        }
    }
}

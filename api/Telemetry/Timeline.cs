using System.Globalization;
using System.Text;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

/// <summary>
/// One human-readable line an event, for the short view and the bundle's timeline.txt:
/// <c>2026-11-22T10:01:02.000Z web-01 [web-7f9c] java(1234) -> sh(1240): sh -c cp /etc/passwd /tmp/p</c>.
/// Control characters from agent input are escaped, so an event is always exactly one line.
/// </summary>
public static class Timeline
{
    public static string Line(TelemetryEvent e, string hostname)
    {
        var line = new StringBuilder(160);
        line.Append(e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append(' ');
        Append(line, hostname);
        if (e.Container is { } container)
        {
            line.Append(" [");
            Append(line, container.Name ?? container.Id);
            line.Append(']');
        }

        line.Append(' ');
        switch (e)
        {
            case ProcessStartEvent start:
                Process(line, start.ParentProcessName, start.Ppid).Append(" -> ");
                Process(line, start.ProcessName ?? System.IO.Path.GetFileName(start.Executable), start.Pid).Append(": ");
                Append(line, start.Args is { Count: > 0 } args ? string.Join(' ', args) : start.Executable);
                if (start.User is { } user)
                {
                    line.Append(" (user ");
                    Append(line, user);
                    line.Append(')');
                }

                break;
            case ProcessExitEvent exit:
                Process(line, exit.ProcessName, exit.Pid).Append(" exited");
                if (exit.ExitCode is { } code)
                    line.Append(' ').Append(code.ToString(CultureInfo.InvariantCulture));
                break;
            case FileAccessEvent file:
                Process(line, file.ProcessName, file.Pid).Append(' ').Append(SpecName(file.Operation)).Append(' ');
                Append(line, file.Path);
                if (file.NewPath is { } newPath)
                {
                    line.Append(" -> ");
                    Append(line, newPath);
                }

                break;
            case NetworkConnectEvent connect:
                Process(line, connect.ProcessName, connect.Pid).Append(" connect ").Append(SpecName(connect.Protocol)).Append(' ');
                Endpoint(line, connect.LocalAddress, connect.LocalPort).Append(" -> ");
                Endpoint(line, connect.RemoteAddress, connect.RemotePort);
                break;
            case NetworkListenEvent listen:
                Process(line, listen.ProcessName, listen.Pid).Append(" listen ").Append(SpecName(listen.Protocol)).Append(' ');
                Endpoint(line, listen.LocalAddress, listen.LocalPort);
                break;
            case DnsQueryEvent dns:
                Process(line, dns.ProcessName, dns.Pid).Append(" dns ");
                Append(line, dns.Name);
                if (dns.Answers is { Count: > 0 } answers)
                {
                    line.Append(" -> ");
                    Append(line, string.Join(", ", answers));
                }

                break;
        }

        return line.ToString();
    }

    private static StringBuilder Process(StringBuilder line, string? name, int? pid)
    {
        Append(line, name ?? "?");
        return line.Append('(').Append(pid is { } p ? p.ToString(CultureInfo.InvariantCulture) : "?").Append(')');
    }

    private static StringBuilder Endpoint(StringBuilder line, string? address, int? port)
    {
        var text = address ?? "*";
        // IPv6 addresses are bracketed so the port stays readable.
        if (text.Contains(':', StringComparison.Ordinal))
            line.Append('[').Append(Escaped(text)).Append(']');
        else
            Append(line, text);
        return line.Append(':').Append(port is { } p ? p.ToString(CultureInfo.InvariantCulture) : "*");
    }

    private static string SpecName<T>(T value) where T : struct, Enum => Http.SpecEnum.ToSpec(value);

    private static void Append(StringBuilder line, string text) => line.Append(Escaped(text));

    private static string Escaped(string text)
    {
        if (!text.Any(char.IsControl))
            return text;
        var escaped = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => escaped.Append("\\n"),
                '\r' => escaped.Append("\\r"),
                '\t' => escaped.Append("\\t"),
                _ when char.IsControl(c) => escaped.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }
}

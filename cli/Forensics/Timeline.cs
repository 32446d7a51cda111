using Platform.Cli.Agents;

namespace Platform.Cli.Forensics;

/// <summary>An event as one timeline line, in the form of the bundle's timeline.txt (docs/bundle-format.md).</summary>
public static class Timeline
{
    public static string Line(TelemetryEvent e)
    {
        var where = e.Container is { } container ? $" [{container.Name ?? container.Id}]" : "";
        var what = e switch
        {
            ProcessStartEvent start => $"{start.ParentProcessName ?? "?"}({start.Ppid?.ToString() ?? "?"}) -> {Process(e, start.Pid)}: "
                + (start.Args is { Count: > 0 } args ? string.Join(' ', args) : start.Executable) + (start.User is { } user ? $" (user {user})" : "")
                + (start.Interpreter is { } interpreter ? $" (interpreter {interpreter})" : "") + Stdio(start.Stdio),
            ProcessExitEvent exit => $"{Process(e, exit.Pid)} exited" + (exit.ExitCode is { } code ? $" with {code}" : ""),
            FileAccessEvent file => $"{Process(e, file.Pid)} {Output.Spec(file.Operation)} {file.Path}" + (file.NewPath is { } to ? $" -> {to}" : ""),
            NetworkConnectEvent { Direction: NetworkDirection.Inbound } accepted => $"{Process(e, accepted.Pid)} accept {Output.Spec(accepted.Protocol)} {accepted.LocalAddress}:{accepted.LocalPort} <- {accepted.RemoteAddress}:{accepted.RemotePort}"
                + (accepted.Result is { } result ? $": {Output.Spec(result)}" : ""),
            NetworkConnectEvent connect => $"{Process(e, connect.Pid)} connect {Output.Spec(connect.Protocol)} {connect.LocalAddress}:{connect.LocalPort} -> {connect.RemoteAddress}:{connect.RemotePort}"
                + (connect.Result is { } outcome ? $": {Output.Spec(outcome)}" : ""),
            NetworkListenEvent listen => $"{Process(e, listen.Pid)} listen {Output.Spec(listen.Protocol)} {listen.LocalAddress}:{listen.LocalPort}",
            DnsQueryEvent dns => $"{Process(e, dns.Pid)} dns {dns.Name}" + (dns.Answers is { Count: > 0 } answers ? " -> " + string.Join(", ", answers) : ""),
            CoverageGapEvent { Reason: CoverageGapReason.AgentDown } down => $"coverage gap (agent-down): agent was not running from {Time(down.Time)} to {Time(down.Until)}",
            CoverageGapEvent gap => $"coverage gap ({Output.Spec(gap.Reason)}): {(gap.Reason == CoverageGapReason.CollectorOverflow ? "collectors" : "sensor")} lost "
                + (gap.LostEvents is { } lost ? lost.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + (lost == 1 ? " event" : " events") : "events") + $" between {Time(gap.Time)} and {Time(gap.Until)}",
            _ => e.GetType().Name,
        };
        return Escape($"{e.Time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {e.Hostname ?? "-"}{where} {what}");
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Standard streams on a socket, as the API's timeline says them: " (stdin, stdout on a socket to 203.0.113.9:4444)".</summary>
    private static string Stdio(ProcessStdio? stdio)
    {
        if (stdio is null)
            return "";
        var streams = new[] { (stdio.Stdin, "stdin"), (stdio.Stdout, "stdout"), (stdio.Stderr, "stderr") }.Where(s => s.Item1 == StdioKind.Socket).Select(s => s.Item2).ToList();
        if (streams.Count == 0)
            return "";
        var peer = stdio.RemoteAddress is { } address ? $" to {(address.Contains(':') ? $"[{address}]" : address)}:{stdio.RemotePort}" : "";
        return $" ({string.Join(", ", streams)} on a socket{peer})";
    }

    private static string Process(TelemetryEvent e, int? pid) => $"{e.ProcessName ?? "?"}({pid?.ToString() ?? "?"})";

    /// <summary>Control characters from agent input stay visible and on one line.</summary>
    private static string Escape(string line) =>
        line.Any(char.IsControl)
            ? string.Concat(line.Select(c => c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ when char.IsControl(c) => $"\\u{(int)c:x4}", _ => c.ToString() }))
            : line;
}

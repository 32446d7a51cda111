namespace Platform.WebConsole.Incidents;

/// <summary>One flight-data event as one line of the timeline: who did what to what, as a responder reads it.</summary>
public static class EventLine
{
    public static string Kind(TelemetryEvent e) => e switch
    {
        ProcessStartEvent => "exec",
        ProcessExitEvent => "exit",
        FileAccessEvent => "file",
        NetworkConnectEvent => "connect",
        NetworkListenEvent => "listen",
        DnsQueryEvent => "dns",
        CoverageGapEvent => "gap",
        _ => "event",
    };

    public static string Describe(TelemetryEvent e) => e switch
    {
        ProcessStartEvent p => $"{p.ProcessName} (pid {p.Pid}) started by {p.ParentProcessName ?? "?"} (pid {p.Ppid?.ToString() ?? "?"}) as {p.User ?? "?"}: {string.Join(' ', p.Args ?? [])}",
        ProcessExitEvent x => $"{x.ProcessName} (pid {x.Pid}) exited{(x.ExitCode is { } code ? $" with {code}" : "")}",
        FileAccessEvent f => $"{f.ProcessName ?? "?"} {Spec.Of(f.Operation)} {f.Path}{(f.NewPath is { } to ? " -> " + to : "")}",
        NetworkConnectEvent n => $"{n.ProcessName ?? "?"} connected to {n.RemoteAddress}:{n.RemotePort}/{Spec.Of(n.Protocol)}{(n.Result is { } result ? $" ({Spec.Of(result)})" : "")}",
        NetworkListenEvent l => $"{l.ProcessName ?? "?"} listens on {l.LocalAddress ?? "*"}:{l.LocalPort}/{Spec.Of(l.Protocol)}",
        DnsQueryEvent d => $"{d.ProcessName ?? "?"} resolved {d.Name}{(d.Answers is { Count: > 0 } answers ? " -> " + string.Join(", ", answers) : "")}",
        CoverageGapEvent g => $"coverage gap until {g.Until.UtcDateTime:HH:mm:ss}Z: {Spec.Of(g.Reason)}{(g.LostEvents is { } lost ? $", {lost} event(s) lost" : "")}",
        _ => e.ProcessName ?? "",
    };

    /// <summary>What identifies an event across the API's answers (ids are unique within the agent's batch, so the kind and time go with it).</summary>
    public static string Key(TelemetryEvent e) => $"{Kind(e)}|{e.Id}|{e.Time.UtcTicks}";
}

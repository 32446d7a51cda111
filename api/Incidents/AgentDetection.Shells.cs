namespace Platform.Api.Incidents;

/// <summary>The shell rules: <c>server-spawned-shell</c> and <c>reverse-shell</c> (docs/detection.md).</summary>
public sealed partial class AgentDetection
{
    /// <summary>A shell a server started; a reverse shell by its command line or by a socket as its standard input or output.</summary>
    private void ShellStarted(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        var parentName = e.ParentProcessName ?? (e.Ppid is { } ppid ? Name(ppid) : null);
        if (settings.IsShell(program) && settings.IsServer(parentName))
        {
            findings.Add(Make(DetectionRule.ServerSpawnedShell, IncidentSeverity.High, e, $"{e.Id}|{pid}",
                $"{Describe(e.Ppid, parentName)} started a shell: {Describe(pid, program)}: {CommandLine(e, program)}", Evidence(pid), pid));
        }

        if (MayRunReverseShell(program) && IsReverseShellCommand(program, e.Args))
        {
            findings.Add(Make(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, $"{e.Id}|{pid}|command",
                $"{Describe(pid, program)} runs a reverse shell: {CommandLine(e, program)}", Evidence(pid), pid));
        }

        // A shell or interpreter whose standard input or output is an internet socket: its session is the socket, whoever
        // connected it (nc -e, socat exec:, a parent that handed it its socket), whatever its arguments.
        if (MayRunReverseShell(program) && e.StdioSocketPeer() is { } peer && !DetectionSettings.IsLoopback(peer.Address))
        {
            var remote = peer.Port is { } port ? $"{peer.Address}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : peer.Address;
            findings.Add(Make(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, $"{e.Id}|{pid}|stdio",
                $"{Describe(pid, program)} runs with its input or output on a network socket to {remote}: {CommandLine(e, program)}", Evidence(pid), pid));
        }
    }

    /// <summary>
    /// A shell's own connection is a reverse shell's when it was made (an accepted one is a server's; a refused
    /// attempt is no session: a shell walking /dev/tcp ports is a port scan).
    /// </summary>
    private void ShellConnected(DetectionEvent e, int pid, string? program, List<Finding> findings)
    {
        if (settings.IsShell(program) && !DetectionSettings.IsLoopback(e.RemoteAddress))
        {
            findings.Add(ConnectionFinding(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, pid, $"|connect|{Remote(e)}",
                $"Shell {Describe(pid, program)} connected to {Remote(e)}", [e.Retain()]));
        }
    }

    private bool MayRunReverseShell(string? program) => settings.IsShell(program) || IsScripting(program) || IsNetcat(program) || program == "socat";

    /// <summary>A scripting language whose one-liners open <c>/dev/tcp</c> sockets and run a shell over them.</summary>
    private static bool IsScripting(string? program) => program is "perl" or "python" or "python3" or "php" or "ruby";

    private static bool IsNetcat(string? program) => program is "nc" or "ncat" or "netcat" or "nc.traditional" or "nc.openbsd";

    private bool IsReverseShellCommand(string? program, List<string>? args)
    {
        if (args is null || args.Count < 2)
            return false;
        var line = string.Join(' ', args);
        if (line.Contains("/dev/tcp/", StringComparison.Ordinal) || line.Contains("/dev/udp/", StringComparison.Ordinal))
            return settings.IsShell(program) || IsScripting(program) || line.Contains("sh -i", StringComparison.Ordinal);
        if (IsNetcat(program))
            return args.Skip(1).Any(a => a is "-e" or "-c" || a.StartsWith("--exec", StringComparison.Ordinal) || a.StartsWith("--sh-exec", StringComparison.Ordinal));
        if (program == "socat")
            return args.Skip(1).Any(a => a.StartsWith("exec:", StringComparison.OrdinalIgnoreCase) || a.StartsWith("system:", StringComparison.OrdinalIgnoreCase))
                && args.Skip(1).Any(a => a.StartsWith("tcp", StringComparison.OrdinalIgnoreCase) || a.StartsWith("udp", StringComparison.OrdinalIgnoreCase));
        return false;
    }
}

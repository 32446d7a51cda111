namespace Platform.Api.Incidents;

/// <summary>
/// Detection for one agent: its events in order, the context the rules need (the process tree, recent
/// sensitive reads, downloads, connection fan-out) kept for the rules' windows, and the findings they make.
/// One instance at a time runs it for an agent (<see cref="IncidentDetector"/>); replaying events it has seen
/// makes the same findings, which storage keeps once. This file takes the events to the rules, which live in a
/// file each (<c>AgentDetection.Exfiltration.cs</c>, <c>.Shells.cs</c>, <c>.Mining.cs</c>, <c>.Downloads.cs</c>,
/// <c>.PortScan.cs</c>) over the process tree (<c>AgentDetection.Lineage.cs</c>).
/// </summary>
public sealed partial class AgentDetection(DetectionSettings settings)
{
    private const int MaxProcesses = 20_000;

    private sealed class ProcessNode
    {
        public required int Pid { get; init; }
        public int? Ppid { get; set; }
        public string? Name { get; set; }
        public string? Executable { get; set; }
        public DateTimeOffset Seen { get; set; }

        /// <summary>
        /// The start event as stored (its JSON and time), made into an event again only when a finding needs it:
        /// detection keeps one for every process it knows (up to 20,000 an agent), so each keeps as little as it can.
        /// </summary>
        public (ReadOnlyMemory<byte> Json, long Ticks) Started { get; init; }

        private DetectionEvent? _start;

        public DetectionEvent? Start => _start ??= Started.Json.IsEmpty ? null : DetectionEvent.Parse(Started.Json, Started.Ticks, null);
    }

    private readonly Dictionary<int, ProcessNode> _processes = [];
    private DateTimeOffset _latest;
    private DateTimeOffset _pruned;

    public DateTimeOffset LastActivity { get; private set; }

    /// <summary>The highest batch sequence this context has observed: a batch below it is late (<see cref="IncidentDetector"/>).</summary>
    public long HighestSequence { get; set; }

    /// <summary>Takes the processes another context knows (detection looking again at a late batch knows the tree the agent's context does).</summary>
    public void AdoptProcesses(AgentDetection other)
    {
        foreach (var (pid, node) in other._processes)
            _processes[pid] = node;
    }

    /// <summary>Runs the rules over one batch's events (in time order); <paramref name="findings"/> gets what they found.</summary>
    public void Observe(DetectionEvent.Cursor events, List<Finding> findings, DateTimeOffset now)
    {
        LastActivity = now;
        while (events.Next() is { } e)
        {
            if (e.Time > _latest)
                _latest = e.Time;
            switch (e.Kind)
            {
                case TelemetryEventKind.Process_start:
                    ProcessStarted(e, findings);
                    break;
                case TelemetryEventKind.File_access:
                    FileAccessed(e);
                    break;
                case TelemetryEventKind.Network_connect:
                    Connected(e, findings);
                    break;
                case TelemetryEventKind.Dns_query:
                    LookedUp(e, findings);
                    break;
            }
        }

        // The windows are minutes long: forgetting what they no longer reach can wait a few seconds of event time.
        if (_latest - _pruned > TimeSpan.FromSeconds(5))
        {
            _pruned = _latest;
            Prune();
        }
    }

    private void ProcessStarted(DetectionEvent e, List<Finding> findings)
    {
        if (e.Pid is not { } pid)
            return;
        var program = e.Program;
        if (e.Ppid is { } ppid && !_processes.ContainsKey(ppid) && e.ParentProcessName is { } parentName)
            _processes[ppid] = new ProcessNode { Pid = ppid, Name = parentName, Seen = e.Time };
        _processes[pid] = new ProcessNode { Pid = pid, Ppid = e.Ppid, Name = program, Executable = e.Executable, Started = (e.Json.ToArray(), e.Time.UtcTicks), Seen = e.Time };

        ShellStarted(e, pid, program, findings);
        MinerStarted(e, pid, program, findings);
        DownloadStarted(e, pid, program, findings);
    }

    private void FileAccessed(DetectionEvent e)
    {
        switch (e.Operation)
        {
            case FimOperation.Read:
                SensitiveFileRead(e);
                break;
            case FimOperation.Write or FimOperation.Create:
                DownloadWritten(e);
                break;
            case FimOperation.Rename:
                DownloadRenamed(e);
                break;
        }
    }

    private void Connected(DetectionEvent e, List<Finding> findings)
    {
        var pid = e.Pid ?? -1;
        var program = e.Program ?? Name(pid);

        // Egress: a connection this node's process made (an accepted one is not), that may have carried data (a refused
        // or failed attempt sent nothing; an unknown result, from collectors that see only connections made, may have).
        var outbound = !e.Inbound;
        if (outbound && e.MayHaveConnected)
        {
            Egress(e, pid, program, findings);
            ShellConnected(e, pid, program, findings);
            MiningPortConnected(e, pid, program, findings);
        }

        // Every attempt this node's process made counts, refused ones too (a scan of closed ports); accepted connections
        // do not (their remote port is the client's own).
        if (outbound && e.RemoteAddress is { } address && e.RemotePort is { } port)
            CountFanout(e, pid, program, address, port, findings);
    }

    /// <summary>The connection's remote end as findings name it.</summary>
    private static string Remote(DetectionEvent e) => $"{e.RemoteAddress}:{e.RemotePort}";

    /// <summary>The command line a finding quotes (the arguments are read from the JSON only when a rule needs them).</summary>
    private static string CommandLine(DetectionEvent e, string? program) => e.Args is { Count: > 0 } args ? string.Join(' ', args) : e.Executable ?? program ?? "";

    private string Start(int pid) => _processes.TryGetValue(pid, out var node) && node.Start is { } start ? start.Id : "";

    private static string Describe(int? pid, string? name) => $"{name ?? "a process"} (pid {pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})";

    private Finding Make(DetectionRule rule, IncidentSeverity severity, DetectionEvent at, string key, string summary, IReadOnlyList<DetectionEvent> events, int? pid, List<int>? lineage = null)
    {
        var chain = lineage ?? (pid is { } p ? Chain(p) : []);
        return new Finding(key, rule, severity, at.Time, at.ContainerId, at.ContainerName, at.Image, summary, Lineage(chain), events.Take(64).ToList(), []);
    }

    /// <summary>
    /// A finding on connections a process made (<paramref name="at"/> the last), with its lineage's starts and the
    /// connections as evidence. Keyed by the process's start (<c>{keyPrefix}{pid}|{start id}{keySuffix}</c>), and known
    /// too by the key it has while that start is unseen (<see cref="Finding.KeyBeforeStart"/>): the start may come later.
    /// </summary>
    private Finding ConnectionFinding(DetectionRule rule, IncidentSeverity severity, DetectionEvent at, int pid, string keySuffix, string summary,
        IEnumerable<DetectionEvent> connections, string keyPrefix = "")
    {
        var process = $"{keyPrefix}{pid}|";
        return Make(rule, severity, at, $"{process}{Start(pid)}{keySuffix}", summary, [.. Evidence(pid), .. connections], pid) with { KeyBeforeStart = process + keySuffix };
    }

    private static string? Resolve(string path, string? cwd)
    {
        if (path.StartsWith('/'))
            return path;
        if (cwd is null || !cwd.StartsWith('/') || path.Length == 0 || path.Contains("://", StringComparison.Ordinal))
            return null;
        return System.IO.Path.GetFullPath(System.IO.Path.Combine(cwd, path));
    }

    /// <summary>Forgets what no rule's window reaches any more (by the newest event time seen).</summary>
    private void Prune()
    {
        var options = settings.Options;
        _reads.RemoveAll(r => _latest - r.Event.Time > options.ExfiltrationWindow);
        foreach (var (path, download) in _downloads.Where(d => _latest - d.Value.Event.Time > options.DownloadWindow).ToList())
            _downloads.Remove(path);
        foreach (var (key, fanout) in _fanouts.Where(f => _latest - f.Value.Last > options.PortScanWindow).ToList())
        {
            if (!fanout.Reported || _latest - fanout.Last > options.GroupWindow)
                _fanouts.Remove(key);
        }

        if (_processes.Count > MaxProcesses)
        {
            foreach (var pid in _processes.Values.OrderBy(n => n.Seen).Take(_processes.Count - MaxProcesses / 2).Select(n => n.Pid).ToList())
                _processes.Remove(pid);
        }
    }
}

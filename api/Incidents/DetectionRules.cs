using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Platform.Contracts;

namespace Platform.Api.Incidents;

/// <summary>
/// One detection: what rule, where, when, in words, and its evidence. <see cref="Key"/> is made from what was
/// detected (the events' ids and the processes), so the same events give the same finding, whoever sees them.
/// </summary>
public sealed record Finding(
    string Key,
    DetectionRule Rule,
    IncidentSeverity Severity,
    DateTimeOffset Time,
    string ContainerId,
    string? ContainerName,
    string? Image,
    string Summary,
    IReadOnlyList<LineageProcess> Lineage,
    IReadOnlyList<DetectionEvent> Events,
    IReadOnlyList<string> FimAlertIds,
    string? KeyBeforeStart = null)
{
    /// <summary>
    /// The id it has when detection had not yet seen its process start (a key naming the start): the batch with the
    /// start came later. The finding stored under it is the same finding, revised when the start comes.
    /// </summary>
    public string? EarlierId(string agentId) => KeyBeforeStart is { } key && key != Key ? (this with { Key = key }).Id(agentId) : null;

    public string Id(string agentId) => "fnd_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{agentId}|{Rule}|{Key}")))[..32];

    public IncidentCategory Category => Categories[Rule];

    public static readonly IReadOnlyDictionary<DetectionRule, IncidentCategory> Categories = new Dictionary<DetectionRule, IncidentCategory>
    {
        [DetectionRule.SensitiveReadThenEgress] = IncidentCategory.DataExfiltration,
        [DetectionRule.ServerSpawnedShell] = IncidentCategory.ShellFromServer,
        [DetectionRule.FimProtectedWrite] = IncidentCategory.FimTamper,
        [DetectionRule.FimAttributeRemoved] = IncidentCategory.FimTamper,
        [DetectionRule.DownloadThenExecute] = IncidentCategory.DownloadExecute,
        [DetectionRule.PortScan] = IncidentCategory.PortScan,
        [DetectionRule.ReverseShell] = IncidentCategory.ReverseShell,
        [DetectionRule.CryptoMining] = IncidentCategory.CryptoMining,
        [DetectionRule.AgentHeartbeatsMissed] = IncidentCategory.SensorSilent,
        [DetectionRule.AgentProtectionStopped] = IncidentCategory.SensorSilent,
    };

    /// <summary>MITRE ATT&amp;CK techniques of each rule (docs/detection.md says why).</summary>
    public static readonly IReadOnlyDictionary<DetectionRule, string[]> Techniques = new Dictionary<DetectionRule, string[]>
    {
        [DetectionRule.SensitiveReadThenEgress] = ["T1041", "T1005"],
        [DetectionRule.ServerSpawnedShell] = ["T1190", "T1059.004"],
        [DetectionRule.FimProtectedWrite] = ["T1565.001"],
        [DetectionRule.FimAttributeRemoved] = ["T1222.002", "T1562.001"],
        [DetectionRule.DownloadThenExecute] = ["T1105"],
        [DetectionRule.PortScan] = ["T1046"],
        [DetectionRule.ReverseShell] = ["T1059.004", "T1071"],
        [DetectionRule.CryptoMining] = ["T1496"],
        [DetectionRule.AgentHeartbeatsMissed] = ["T1562.001"],
        [DetectionRule.AgentProtectionStopped] = ["T1562.001"],
    };
}

/// <summary>The option lists made ready for matching once.</summary>
public sealed class DetectionSettings(DetectionOptions options)
{
    public DetectionOptions Options { get; } = options;
    // One compiled alternation, not a regex a glob: a quarter of flight data is file reads, each checked here.
    // Matched against paths agents report: a linear matcher (FimGlob), whatever the path.
    private readonly Platform.Contracts.FimGlob _sensitive = Platform.Contracts.FimGlob.AnyPath(options.SensitivePaths);
    private readonly Platform.Contracts.FimGlob? _notSecret = options.NotSecretPaths.Length > 0 ? Platform.Contracts.FimGlob.AnyPath(options.NotSecretPaths) : null;
    private readonly HashSet<string> _servers = new(options.ServerProcesses, StringComparer.Ordinal);
    private readonly HashSet<string> _shells = new(options.Shells, StringComparer.Ordinal);
    private readonly HashSet<string> _downloaders = new(options.DownloadTools, StringComparer.Ordinal);
    private readonly HashSet<int> _miningPorts = [.. options.MiningPorts];
    private readonly HashSet<string> _miners = new(options.Miners, StringComparer.Ordinal);
    private readonly HashSet<string> _roots = new(options.LineageRoots, StringComparer.Ordinal);
    private readonly HashSet<string> _nameService = new(options.NameServiceFiles, StringComparer.Ordinal);
    private readonly HashSet<string> _interpreters = new(options.Interpreters, StringComparer.Ordinal);

    /// <summary>
    /// Whether reading the file starts the exfiltration rule. The same files are read over and over (configuration,
    /// libraries, data files), so verdicts are remembered (a bounded table, emptied when full): the pattern ran for
    /// every read, and a profile of bench/run.sh suite=incidents showed it as the largest single part of the rules.
    /// </summary>
    public bool IsSensitive(DetectionEvent e)
    {
        // Looked up without making the path a string when it was seen before.
        Span<char> buffer = stackalloc char[512];
        if (e.TryPath(buffer, out var length))
        {
            lock (_verdicts)
            {
                if (_verdicts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(buffer[..length], out var known))
                    return known;
            }
        }

        return e.Path is { } path && IsSensitive(path);
    }

    public bool IsSensitive(string path)
    {
        lock (_verdicts)
        {
            if (_verdicts.TryGetValue(path, out var known))
                return known;
        }

        var verdict = _sensitive.IsMatch(path) && _notSecret?.IsMatch(path) != true;
        lock (_verdicts)
        {
            if (_verdicts.Count >= MaxVerdicts)
                _verdicts.Clear();
            _verdicts[path] = verdict;
        }

        return verdict;
    }

    private const int MaxVerdicts = 16_384;
    private readonly Dictionary<string, bool> _verdicts = new(StringComparer.Ordinal);
    public bool IsServer(string? name) => name is not null && _servers.Contains(name);
    public bool IsShell(string? name) => name is not null && _shells.Contains(name);
    public bool IsDownloader(string? name) => name is not null && _downloaders.Contains(name);
    public bool IsMiningPort(int? port) => port is { } p && _miningPorts.Contains(p);
    public bool IsMiner(string? name) => name is not null && _miners.Contains(name);

    /// <summary>A name-service database (<see cref="DetectionOptions.NameServiceFiles"/>): every user or group look-up reads it.</summary>
    public bool IsNameServiceFile(string path) => _nameService.Contains(path);

    /// <summary>
    /// Whether the program is a script interpreter (<see cref="DetectionOptions.Interpreters"/>; a versioned name such
    /// as <c>python3.12</c> by its unversioned one), and how its options are read.
    /// </summary>
    public InterpreterScripts.Family? InterpreterOf(string? name)
    {
        if (string.IsNullOrEmpty(name))
            return null;
        if (!_interpreters.Contains(name) && !_interpreters.Contains(InterpreterScripts.Unversioned(name)))
            return null;
        return InterpreterScripts.FamilyOf(name);
    }
    public bool IsLineageRoot(string? name) => name is not null && (_roots.Contains(name) || name.StartsWith("containerd-shim", StringComparison.Ordinal));

    public bool IsMiningPool(string name)
    {
        // Every DNS answer comes here: compared in place, without a string made for each pool.
        var host = name.AsSpan().TrimEnd('.');
        foreach (var pool in Options.MiningPools)
        {
            if (host.EndsWith(pool, StringComparison.OrdinalIgnoreCase) && (host.Length == pool.Length || host[^(pool.Length + 1)] == '.'))
                return true;
        }

        return false;
    }

    /// <summary>An address on the internet: not private, loopback, link-local, shared (CGNAT), multicast or unspecified.</summary>
    public static bool IsPublic(string? address)
    {
        if (address is null || !IPAddress.TryParse(address, out var ip))
            return false;
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        if (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
            return false;
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return !(b[0] == 10 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] >= 224);
        }

        return !(ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6Multicast || ip.IsIPv6UniqueLocal);
    }

    public static bool IsLoopback(string? address) => address is not null && IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip);
}

/// <summary>
/// Detection for one agent: its events in order, the context the rules need (the process tree, recent
/// sensitive reads, downloads, connection fan-out) kept for the rules' windows, and the findings they make.
/// One instance at a time runs it for an agent (<see cref="IncidentDetector"/>); replaying events it has seen
/// makes the same findings, which storage keeps once.
/// </summary>
public sealed class AgentDetection(DetectionSettings settings)
{
    private const int MaxProcesses = 20_000;
    private const int MaxDepth = 16;
    private const int EvidenceConnections = 20;

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

    /// <summary>A sensitive file read; <paramref name="Unjudged"/>: of a name-service file by a process not known when it was read (judged again at egress).</summary>
    private sealed record SensitiveRead(DetectionEvent Event, int Pid, bool Unjudged = false);

    /// <summary>What a read of a name-service file was: a look-up, the file named by the reader's arguments, or not known (the reader's start unseen).</summary>
    private enum ReadKind
    {
        Lookup, Named, Unknown,
    }

    private sealed record Download(DetectionEvent Event, string Path);

    /// <summary>
    /// One process's connections within the port-scan window, with the distinct ports of each host and hosts on
    /// each port counted as they come and go: a process that connects thousands of times a minute (a client of a
    /// database or an API) costs the same per connection as one that connects once.
    /// </summary>
    private sealed class Fanout
    {
        // By time, oldest first (a batch's events are in time order; batches need not be). Made at a process's second
        // connection in the window: most processes connect once, and then this is all there is.
        private (long Ticks, string Address, int Port)? _only;
        private PriorityQueue<(string Address, int Port, bool Failed), long>? _window;
        private bool _onlyFailed;

        /// <summary>Attempts in the window that did not connect (refused, timed out, unreachable: closed or filtered ports).</summary>
        public int Failed { get; private set; }
        private Dictionary<string, Dictionary<int, int>> _portsOfHost = null!;
        private Dictionary<int, Dictionary<string, int>> _hostsOnPort = null!;

        /// <summary>The first connections in the window, kept as evidence.</summary>
        public readonly List<(long Ticks, DetectionEvent Event)> Evidence = [];
        public DateTimeOffset Last;
        public bool Reported;

        public int Count => _window?.Count ?? (_only is null ? 0 : 1);

        public void Add(DetectionEvent e, string address, int port, bool failed, TimeSpan window)
        {
            var (ticks, oldest) = (e.Time.UtcTicks, (e.Time - window).UtcTicks);
            if (_window is null && _only is { } one && one.Ticks >= oldest)
            {
                (_window, _portsOfHost, _hostsOnPort, Failed) = (new(), new(StringComparer.Ordinal), [], 0);
                Index(one.Address, one.Port, _onlyFailed, one.Ticks);
            }

            if (_window is null)
            {
                (_only, _onlyFailed) = ((ticks, address, port), failed);
                Failed = failed ? 1 : 0;
            }
            else
            {
                while (_window.TryPeek(out var old, out var at) && at < oldest)
                {
                    _window.Dequeue();
                    Forget(_portsOfHost, old.Address, old.Port);
                    Forget(_hostsOnPort, old.Port, old.Address);
                    if (old.Failed)
                        Failed--;
                }

                Index(address, port, failed, ticks);
            }

            if (_oldestEvidence < oldest)
                _oldestEvidence = Forget(Evidence, oldest);
            // Kept from a process's second connection in the window on: most processes connect once, and a copy of
            // every process's first connection, kept for the window, would be most of what the rule holds.
            if (Evidence.Count < EvidenceConnections && Count > 1)
            {
                Evidence.Add((ticks, e.Retain()));
                _oldestEvidence = Math.Min(_oldestEvidence, ticks);
            }
            if (e.Time > Last)
                Last = e.Time;
        }

        /// <summary>The time of the oldest evidence (none: the largest time): the evidence is only looked through when some has left the window.</summary>
        private long _oldestEvidence = long.MaxValue;

        /// <summary>
        /// Drops the evidence older than the window, in place, and says when the oldest left is. Called only when some
        /// is that old, and by the times kept beside the events: reading each event's time (an object each, far apart
        /// in memory) on every connection was a seventh of the rules' time.
        /// </summary>
        private static long Forget(List<(long Ticks, DetectionEvent Event)> evidence, long oldest)
        {
            var (kept, oldestKept) = (0, long.MaxValue);
            for (var i = 0; i < evidence.Count; i++)
            {
                var ticks = evidence[i].Ticks;
                if (ticks >= oldest)
                {
                    evidence[kept++] = evidence[i];
                    oldestKept = Math.Min(oldestKept, ticks);
                }
            }

            evidence.RemoveRange(kept, evidence.Count - kept);
            return oldestKept;
        }

        private void Index(string address, int port, bool failed, long ticks)
        {
            _window!.Enqueue((address, port, failed), ticks);
            if (failed)
                Failed++;
            Tally(_portsOfHost, address, port);
            Tally(_hostsOnPort, port, address);
        }

        public int PortsOf(string address) => _window is null ? Count : _portsOfHost.TryGetValue(address, out var ports) ? ports.Count : 0;

        public int HostsOn(int port) => _window is null ? Count : _hostsOnPort.TryGetValue(port, out var hosts) ? hosts.Count : 0;

        private static void Tally<TKey, TValue>(Dictionary<TKey, Dictionary<TValue, int>> index, TKey key, TValue value)
            where TKey : notnull
            where TValue : notnull
        {
            if (!index.TryGetValue(key, out var values))
                index[key] = values = [];
            values[value] = values.GetValueOrDefault(value) + 1;
        }

        private static void Forget<TKey, TValue>(Dictionary<TKey, Dictionary<TValue, int>> index, TKey key, TValue value)
            where TKey : notnull
            where TValue : notnull
        {
            var values = index[key];
            if (values[value] > 1)
                values[value]--;
            else if (values.Remove(value) && values.Count == 0)
                index.Remove(key);
        }
    }

    private readonly Dictionary<int, ProcessNode> _processes = [];
    private readonly List<SensitiveRead> _reads = [];
    private readonly Dictionary<string, Download> _downloads = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Container, int Pid), Fanout> _fanouts = [];
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
                    if (e.Name is { } name && settings.IsMiningPool(name))
                        findings.Add(Make(DetectionRule.CryptoMining, IncidentSeverity.High, e, $"pid {e.Pid}|dns|{name}",
                            $"{Describe(e.Pid, e.Program)} looked up mining pool {name}", [e.Retain()], e.Pid));
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

        var parent = e.Ppid is { } p && _processes.TryGetValue(p, out var node) ? node : null;
        var parentName2 = e.ParentProcessName ?? parent?.Name;
        // The arguments are read from the JSON only when a rule needs them.
        string CommandLine() => e.Args is { Count: > 0 } args ? string.Join(' ', args) : e.Executable ?? program ?? "";

        if (settings.IsShell(program) && settings.IsServer(parentName2))
        {
            findings.Add(Make(DetectionRule.ServerSpawnedShell, IncidentSeverity.High, e, $"{e.Id}|{pid}",
                $"{Describe(e.Ppid, parentName2)} started a shell: {Describe(pid, program)}: {CommandLine()}", Evidence(pid), pid));
        }

        if (MayRunReverseShell(program) && IsReverseShellCommand(program, e.Args))
        {
            findings.Add(Make(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, $"{e.Id}|{pid}|command",
                $"{Describe(pid, program)} runs a reverse shell: {CommandLine()}", Evidence(pid), pid));
        }

        // A shell or interpreter whose standard input or output is an internet socket: its session is the socket, whoever
        // connected it (nc -e, socat exec:, a parent that handed it its socket), whatever its arguments.
        if (MayRunReverseShell(program) && e.StdioSocketPeer() is { } peer && !DetectionSettings.IsLoopback(peer.Address))
        {
            var remote = peer.Port is { } port ? $"{peer.Address}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : peer.Address;
            findings.Add(Make(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, $"{e.Id}|{pid}|stdio",
                $"{Describe(pid, program)} runs with its input or output on a network socket to {remote}: {CommandLine()}", Evidence(pid), pid));
        }

        if (settings.IsMiner(program))
        {
            findings.Add(Make(DetectionRule.CryptoMining, IncidentSeverity.High, e, $"{e.Id}|{pid}|miner",
                $"Miner {Describe(pid, program)} started: {CommandLine()}", Evidence(pid), pid));
        }

        foreach (var candidate in _downloads.Count == 0 ? [] : Executed(e))
        {
            if (candidate is not null && _downloads.TryGetValue(candidate, out var download) && e.Time - download.Event.Time <= settings.Options.DownloadWindow)
            {
                var events = Evidence(download.Event.Pid ?? -1).Append(download.Event).Concat(Evidence(pid)).Distinct().OrderBy(x => x.Time).ToList();
                findings.Add(Make(DetectionRule.DownloadThenExecute, IncidentSeverity.High, e, $"{download.Event.Id}|{e.Id}|{pid}",
                    $"{Describe(pid, program)} ran {candidate}, downloaded by {Describe(download.Event.Pid, download.Event.Program)} at {download.Event.Time:O}", events, pid));
                break;
            }
        }

        // A download tool told where to write (-o FILE, -O FILE, --output FILE, --output-document=FILE).
        if (settings.IsDownloader(program) && (e.ArgsMayContain("-o"u8) || e.ArgsMayContain("-O"u8)) && e.Args is { } arguments)
        {
            for (var i = 1; i < arguments.Count; i++)
            {
                var arg = arguments[i];
                string? target = null;
                if ((arg is "-o" or "--output" || (arg == "-O" && program == "wget")) && i + 1 < arguments.Count)
                    target = arguments[i + 1];
                else if (arg.StartsWith("--output-document=", StringComparison.Ordinal) || arg.StartsWith("--output=", StringComparison.Ordinal))
                    target = arg[(arg.IndexOf('=') + 1)..];
                if (target is not null && target != "-" && Resolve(target, e.Cwd) is { } path)
                    _downloads[path] = new Download(e.Retain(), path);
            }
        }
    }

    /// <summary>
    /// The files a process start runs: its executable (with the kernel sensor, a <c>#!</c> script itself), its first
    /// argument, and the script an interpreter among its names (the process, the executable, argv[0]) was given: the
    /// first argument after the interpreter's own options (<c>sh /tmp/x</c>, <c>python3 -u x.py</c>; not
    /// <c>sh -c 'cat /tmp/x'</c>, whose argument is a command). The fallback collectors show <c>./x</c> with a
    /// <c>#!/bin/sh</c> line as <c>/bin/sh ./x</c> run by <c>/bin/dash</c>. Relative names against the working directory.
    /// </summary>
    private string?[] Executed(DetectionEvent e)
    {
        var args = e.Args;
        string? script = null;
        if (args is { Count: > 1 })
        {
            var family = settings.InterpreterOf(e.Program) ?? settings.InterpreterOf(FileName(e.Executable)) ?? settings.InterpreterOf(FileName(args[0]));
            if (family is { } f && InterpreterScripts.ScriptOf(f, args) is { } named)
                script = Resolve(named, e.Cwd);
        }

        return [e.Executable, args is { Count: > 0 } a ? Resolve(a[0], e.Cwd) : null, script];
    }

    private static string? FileName(string? path) => path is null ? null : System.IO.Path.GetFileName(path);

    private void FileAccessed(DetectionEvent e)
    {
        switch (e.Operation)
        {
            case FimOperation.Read:
                if (e.Pid is { } pid && settings.IsSensitive(e))
                {
                    // A name-service database read by a process that does not name it is a user or group look-up (curl
                    // finding ~/.curlrc, ls -l, id): forgotten. Not known yet who read it: judged again at egress.
                    var kind = settings.IsNameServiceFile(e.Path!) ? Judge(e, pid) : ReadKind.Named;
                    if (kind != ReadKind.Lookup)
                        _reads.Add(new SensitiveRead(e.Retain(), pid, kind == ReadKind.Unknown));
                }

                break;
            case FimOperation.Write or FimOperation.Create:
                var writer = e.Program ?? (e.Pid is { } p && _processes.TryGetValue(p, out var node) ? node.Name : null);
                if (settings.IsDownloader(writer) && e.Path is { } path)
                    _downloads[path] = new Download(e.Retain(), path);
                break;
            case FimOperation.Rename:
                if (_downloads.Count > 0 && e.Path is { } from && e.NewPath is { } moved && _downloads.Remove(from, out var download))
                    _downloads[moved] = download with { Path = moved };
                break;
        }
    }

    private void Connected(DetectionEvent e, List<Finding> findings)
    {
        var pid = e.Pid ?? -1;
        var program = e.Program ?? (_processes.TryGetValue(pid, out var node) ? node.Name : null);
        string Remote() => $"{e.RemoteAddress}:{e.RemotePort}";

        // Egress: a connection this node's process made (an accepted one is not), that may have carried data (a refused
        // or failed attempt sent nothing; an unknown result, from collectors that see only connections made, may have).
        var outbound = !e.Inbound;
        var mayHaveConnected = outbound && e.MayHaveConnected;
        if (_reads.Count > 0 && pid >= 0 && mayHaveConnected && DetectionSettings.IsPublic(e.RemoteAddress))
        {
            var reported = new HashSet<(int, string)>();
            foreach (var read in _reads)
            {
                if (e.Time - read.Event.Time > settings.Options.ExfiltrationWindow || read.Event.Time > e.Time || !Related(read.Pid, pid)
                    || (read.Unjudged && Judge(read.Event, read.Pid) == ReadKind.Lookup) || !reported.Add((read.Pid, read.Event.Path!)))
                    continue;
                var lineage = Merge(Chain(read.Pid), Chain(pid));
                var events = lineage.Select(p => _processes.TryGetValue(p, out var n) ? n.Start : null).OfType<DetectionEvent>()
                    .Append(read.Event).Append(e.Retain()).Distinct().OrderBy(x => x.Time).ToList();
                var reader = Describe(read.Pid, read.Event.Program ?? Name(read.Pid));
                findings.Add(Make(DetectionRule.SensitiveReadThenEgress, IncidentSeverity.Critical, e, $"{read.Event.Id}|{read.Pid}|{read.Event.Path}|{pid}",
                    $"{Describe(pid, program)} sent data to {Remote()} after {reader} read {read.Event.Path}; lineage {Tree(lineage)}",
                    events, pid, lineage));
            }
        }

        // A shell's own connection is a reverse shell's when it was made (an accepted one is a server's; a refused
        // attempt is no session: a shell walking /dev/tcp ports is a port scan).
        if (mayHaveConnected && settings.IsShell(program) && !DetectionSettings.IsLoopback(e.RemoteAddress))
        {
            findings.Add(Make(DetectionRule.ReverseShell, IncidentSeverity.Critical, e, $"{pid}|{Start(pid)}|connect|{Remote()}",
                $"Shell {Describe(pid, program)} connected to {Remote()}", [.. Evidence(pid), e.Retain()], pid) with { KeyBeforeStart = $"{pid}||connect|{Remote()}" });
        }

        // A pool is mined over a connection made: a refused attempt on a stratum port is a scan's, an accepted one a client's port.
        if (mayHaveConnected && settings.IsMiningPort(e.RemotePort) && !DetectionSettings.IsLoopback(e.RemoteAddress))
        {
            findings.Add(Make(DetectionRule.CryptoMining, IncidentSeverity.High, e, $"{pid}|{Start(pid)}|port|{Remote()}",
                $"{Describe(pid, program)} connected to {Remote()}, a mining pool (stratum) port", [.. Evidence(pid), e.Retain()], pid) with { KeyBeforeStart = $"{pid}||port|{Remote()}" });
        }

        // Every attempt this node's process made counts, refused ones too (a scan of closed ports); accepted connections
        // do not (their remote port is the client's own).
        if (outbound && e.RemoteAddress is { } address && e.RemotePort is { } port)
            CountFanout(e, pid, program, address, port, findings);
    }

    /// <summary>
    /// Whether the process that read a name-service file did so to look a user or group up: the process as it was when
    /// it read (a forked child that reads before it runs its own program, as for a shell's <c>&lt; /etc/passwd</c>, is
    /// still its parent's image) is known with its arguments, and none of them names the file (docs/detection.md).
    /// </summary>
    private ReadKind Judge(DetectionEvent read, int pid)
    {
        if (!_processes.TryGetValue(pid, out var node) || node.Start is not { } start)
            return ReadKind.Unknown;
        if (node.Started.Ticks > read.Time.UtcTicks)
        {
            // Read before its exec: the image of the parent it was forked from.
            if (node.Ppid is not { } ppid || !_processes.TryGetValue(ppid, out node) || node.Start is not { } parent || node.Started.Ticks > read.Time.UtcTicks)
                return ReadKind.Unknown;
            start = parent;
        }
        else if (read.ProcessName is { } name && node.Name is { } known && name != known && start.ProcessName is not null)
            return ReadKind.Unknown; // another process than the one whose start is known (a pid reused, a start lost)

        if (start.Args is not { Count: > 0 } args)
            return ReadKind.Unknown; // the collector lost the arguments
        var path = read.Path!;
        for (var i = 1; i < args.Count; i++)
        {
            if (Names(args[i], start.Cwd, path))
                return ReadKind.Named;
        }

        return ReadKind.Lookup;
    }

    /// <summary>
    /// Whether an argument names <paramref name="path"/>: the path, or a relative name of it from <paramref name="cwd"/>,
    /// as the argument or a word in it (after <c>@</c> or <c>=</c>, in a shell command: <c>@/etc/passwd</c>,
    /// <c>if=/etc/passwd</c>, <c>cat passwd | ...</c>).
    /// </summary>
    private static bool Names(string argument, string? cwd, string path)
    {
        var name = path.AsSpan(path.LastIndexOf('/') + 1);
        var rest = argument.AsSpan();
        while (rest.Length > 0)
        {
            var start = rest.IndexOfAnyExcept(WordBreaks);
            if (start < 0)
                break;
            rest = rest[start..];
            var end = rest.IndexOfAny(WordBreaks);
            var word = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[end..];
            if (!word.EndsWith(name, StringComparison.Ordinal) || (word.Length > name.Length && word[^(name.Length + 1)] != '/'))
                continue;
            if (word.SequenceEqual(path))
                return true;
            var full = word[0] == '/' ? word.ToString() : cwd is ['/', ..] && word[0] != '~' && word[0] != '-' ? System.IO.Path.Combine(cwd, word.ToString()) : null;
            if (full is not null && System.IO.Path.GetFullPath(full) == path)
                return true;
        }

        return false;
    }

    /// <summary>What separates the words of a command line, and a file from what comes before it (<c>@file</c>, <c>if=file</c>).</summary>
    private static readonly System.Buffers.SearchValues<char> WordBreaks = System.Buffers.SearchValues.Create(" \t\n\r'\"`;|&<>(){}=@,:$");

    private void CountFanout(DetectionEvent e, int pid, string? program, string address, int port, List<Finding> findings)
    {
        var key = (e.ContainerId, pid);
        if (!_fanouts.TryGetValue(key, out var fanout))
            _fanouts[key] = fanout = new Fanout();
        var window = settings.Options.PortScanWindow;
        fanout.Add(e, address, port, e.Result is { } result && result != ConnectResult.Connected, window);
        if (fanout.Reported)
            return;
        var threshold = settings.Options.PortScanThreshold;
        if (fanout.Count < threshold)
            return; // too few connections for that many distinct ports or hosts (most processes)
        var portsOfOneHost = fanout.PortsOf(address);
        var hostsOnOnePort = fanout.HostsOn(port);
        if (portsOfOneHost < threshold && hostsOnOnePort < threshold)
            return;
        fanout.Reported = true;
        var first = fanout.Evidence.Count > 0 ? fanout.Evidence[0].Event : e;
        var what = portsOfOneHost >= threshold ? $"{portsOfOneHost} ports of {address}" : $"port {port} on {hostsOnOnePort} hosts";
        // Attempts nothing answered (closed or filtered ports) are what a scan leaves: said, with how many.
        var failed = fanout.Failed > 0 ? $" ({fanout.Failed} of {fanout.Count} attempts refused or unanswered)" : "";
        findings.Add(Make(DetectionRule.PortScan, IncidentSeverity.Medium, e, $"{e.ContainerId}|{pid}|{Start(pid)}|{first.Id}",
            $"{Describe(pid, program)} {(fanout.Failed > 0 ? "tried" : "connected to")} {what} within {window.TotalSeconds:0} s{failed}",
            [.. Evidence(pid), .. fanout.Evidence.Select(x => x.Event).Append(e.Retain()).Distinct().Take(EvidenceConnections)], pid) with { KeyBeforeStart = $"{e.ContainerId}|{pid}||{first.Id}" });
    }

    private bool MayRunReverseShell(string? program) =>
        settings.IsShell(program) || program is "perl" or "python" or "python3" or "php" or "ruby" or "nc" or "ncat" or "netcat" or "nc.traditional" or "nc.openbsd" or "socat";

    private bool IsReverseShellCommand(string? program, List<string>? args)
    {
        if (args is null || args.Count < 2)
            return false;
        var line = string.Join(' ', args);
        if (line.Contains("/dev/tcp/", StringComparison.Ordinal) || line.Contains("/dev/udp/", StringComparison.Ordinal))
            return settings.IsShell(program) || program is "perl" or "python" or "python3" or "php" or "ruby" || line.Contains("sh -i", StringComparison.Ordinal);
        if (program is "nc" or "ncat" or "netcat" or "nc.traditional" or "nc.openbsd")
            return args.Skip(1).Any(a => a is "-e" or "-c" || a.StartsWith("--exec", StringComparison.Ordinal) || a.StartsWith("--sh-exec", StringComparison.Ordinal));
        if (program == "socat")
            return args.Skip(1).Any(a => a.StartsWith("exec:", StringComparison.OrdinalIgnoreCase) || a.StartsWith("system:", StringComparison.OrdinalIgnoreCase))
                && args.Skip(1).Any(a => a.StartsWith("tcp", StringComparison.OrdinalIgnoreCase) || a.StartsWith("udp", StringComparison.OrdinalIgnoreCase));
        return false;
    }

    /// <summary>Same process, one the other's ancestor, or children of a common ancestor that is not init or a supervisor.</summary>
    private bool Related(int a, int b)
    {
        if (a == b)
            return true;
        var chainA = Chain(a);
        var chainB = Chain(b);
        if (chainA.Contains(b) || chainB.Contains(a))
            return true;
        return chainA.Intersect(chainB).Any(p => p > 1 && !settings.IsLineageRoot(Name(p)));
    }

    /// <summary>The process and its known ancestors, the oldest first.</summary>
    private List<int> Chain(int pid)
    {
        var chain = new List<int>();
        var current = pid;
        while (chain.Count < MaxDepth && !chain.Contains(current))
        {
            chain.Add(current);
            // Ancestors detection knows of only: an unknown parent would be a nameless step in the lineage.
            if (!_processes.TryGetValue(current, out var node) || node.Ppid is not { } parent || parent <= 0 || !_processes.ContainsKey(parent))
                break;
            current = parent;
        }

        chain.Reverse();
        return chain;
    }

    private static List<int> Merge(List<int> a, List<int> b)
    {
        var merged = new List<int>(a);
        foreach (var pid in b)
        {
            if (!merged.Contains(pid))
                merged.Add(pid);
        }

        return merged;
    }

    private List<DetectionEvent> Evidence(int pid) =>
        Chain(pid).Select(p => _processes.TryGetValue(p, out var n) ? n.Start : null).OfType<DetectionEvent>().ToList();

    private string? Name(int pid) => _processes.TryGetValue(pid, out var node) ? node.Name : null;

    private int? Parent(int pid) => _processes.TryGetValue(pid, out var node) ? node.Ppid : null;

    /// <summary>
    /// A lineage as the tree it is: <c>java -> sh -> {cp, curl}</c> when cp and curl are both children of sh, not
    /// <c>java -> sh -> cp -> curl</c>. Children in the lineage's order; several roots in braces too.
    /// </summary>
    public static string Tree(IReadOnlyList<LineageProcess> lineage)
    {
        var pids = lineage.Select(p => p.Pid).ToHashSet();
        var children = lineage.Where(p => p.Ppid is { } parent && parent != p.Pid && pids.Contains(parent)).ToLookup(p => p.Ppid!.Value);
        var roots = lineage.Where(p => p.Ppid is not { } parent || parent == p.Pid || !pids.Contains(parent)).ToList();
        var shown = new HashSet<int>();
        string Render(LineageProcess p)
        {
            var name = p.Name ?? $"pid {p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            if (!shown.Add(p.Pid) || shown.Count > 64)
                return name;
            var below = children[p.Pid].Where(c => !shown.Contains(c.Pid)).ToList();
            return below.Count switch
            {
                0 => name,
                1 => $"{name} -> {Render(below[0])}",
                _ => $"{name} -> {{{string.Join(", ", below.Select(Render))}}}",
            };
        }

        return roots.Count == 1 ? Render(roots[0]) : $"{{{string.Join(", ", roots.Select(Render))}}}";
    }

    private string Tree(List<int> lineage) => Tree(Lineage(lineage));

    private List<LineageProcess> Lineage(List<int> pids) =>
        pids.Select(x => new LineageProcess { Pid = x, Ppid = Parent(x), Name = Name(x), Executable = _processes.TryGetValue(x, out var n) ? n.Executable : null }).ToList();

    private string Start(int pid) => _processes.TryGetValue(pid, out var node) && node.Start is { } start ? start.Id : "";

    private static string Describe(int? pid, string? name) => $"{name ?? "a process"} (pid {pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"})";

    private Finding Make(DetectionRule rule, IncidentSeverity severity, DetectionEvent at, string key, string summary, IReadOnlyList<DetectionEvent> events, int? pid, List<int>? lineage = null)
    {
        var chain = lineage ?? (pid is { } p ? Chain(p) : []);
        return new Finding(key, rule, severity, at.Time, at.ContainerId, at.ContainerName, at.Image, summary, Lineage(chain), events.Take(64).ToList(), []);
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

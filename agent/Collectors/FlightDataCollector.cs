using System.Collections.Concurrent;
using System.Net;
using Platform.Agent.Delivery;

namespace Platform.Agent.Collectors;

/// <summary>
/// The flight data recorder's collectors on Linux:
/// <list type="bullet">
/// <item>process starts (executable, arguments, parent, user, working directory, container from the cgroup; the
/// start time is the kernel's) and exits: from the kernel's proc connector as they happen when the agent may listen
/// to it (<see cref="ProcConnector"/>, CAP_NET_ADMIN; exits then carry the exit code), otherwise by scanning /proc
/// every <see cref="AgentOptions.CollectorMilliseconds"/>;</item>
/// <item>connections out (TCP and connected UDP, v4 and v6) and listening sockets, each with the process that holds
/// the socket (found through /proc/pid/fd) and its container.</item>
/// </list>
/// With the kernel sensor (<see cref="Sensor.SensorService"/>, <c>ebpf</c>), process starts and exits come from it and
/// these collectors only scan sockets, until the sensor's network records replace that too
/// (<see cref="Sensor.SensorState.SocketsFromKernel"/>).
/// The first scan is the baseline: what runs and is connected when the agent starts is not reported as started.
/// Scanning, a process that starts and ends between two scans is not seen (the heartbeat says <c>proc-poll</c>);
/// with the connector (<c>netlink</c>) every one is, though one gone before its /proc entry was read is reported
/// by its exit only.
/// </summary>
public sealed class FlightDataCollector(Spool spool, AgentOptions options, TimeProvider time, ILogger<FlightDataCollector> log, Sensor.SensorState? sensor = null, UserNames? users = null) : BackgroundService
{
    private static readonly (string Table, NetworkProtocol Protocol)[] Tables =
        [("tcp", NetworkProtocol.Tcp), ("tcp6", NetworkProtocol.Tcp), ("udp", NetworkProtocol.Udp), ("udp6", NetworkProtocol.Udp)];

    private readonly ConcurrentDictionary<int, ProcessInfo> _processes = new();
    private readonly HashSet<long> _sockets = [];
    private readonly UserNames _users = users ?? new UserNames(time);
    private long _scans;
    private ProcConnector? _connector;
    private bool _reconcile;

    /// <summary>Why process events come from scanning rather than from the kernel (null when they come from the kernel).</summary>
    public string? NoConnectorReason { get; private set; }

    /// <summary>Scans made so far (the first is the baseline).</summary>
    public long Scans => Interlocked.Read(ref _scans);

    /// <summary>How process starts and exits are seen (for the heartbeat).</summary>
    public AgentProcessEvents Mode => options.CollectorMilliseconds <= 0 || !OperatingSystem.IsLinux() || sensor?.Mode == AgentSensorMode.None ? AgentProcessEvents.None
        : ProcessesFromSensor ? AgentProcessEvents.Ebpf
        : _connector is not null ? AgentProcessEvents.Netlink : AgentProcessEvents.ProcPoll;

    /// <summary>The kernel sensor reports process starts and exits: these collectors do not.</summary>
    private bool ProcessesFromSensor => sensor?.Mode == AgentSensorMode.Ebpf;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Mode == AgentProcessEvents.None || (ProcessesFromSensor && sensor!.SocketsFromKernel))
            return;
        if (!ProcessesFromSensor)
            ListenToKernel(stoppingToken); // first: a process started meanwhile is then in the baseline or reported by the kernel
        Scan(); // the baseline
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.CollectorMilliseconds), time);
        do
        {
            try
            {
                var events = Scan();
                if (events.Count > 0)
                    spool.Record(events);
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                log.LogWarning(failure, "A /proc scan failed; the next one tries again");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Process events from the kernel as they come, on a thread of their own, when the agent may listen (else the scans report them).</summary>
    private void ListenToKernel(CancellationToken stoppingToken)
    {
        _connector = ProcConnector.TryOpen(out var reason);
        NoConnectorReason = reason;
        if (_connector is null)
        {
            log.LogInformation("Process events by scanning /proc: {Reason}", reason);
            return;
        }

        _ = Task.Factory.StartNew(() =>
        {
            using var connector = _connector;
            long overflows = 0;
            var lastRead = time.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                var events = new List<TelemetryEvent>();
                var now = time.GetUtcNow();
                if (connector.Overflows != overflows)
                {
                    // Events were lost since the last read: a coverage gap over that span (the kernel does not say how
                    // many), and the next scan looks for processes the kernel's events did not bring.
                    overflows = connector.Overflows;
                    Volatile.Write(ref _reconcile, true);
                    events.Add(new CoverageGapEvent { Id = EventId.New(), Time = lastRead, Until = now, Reason = CoverageGapReason.CollectorOverflow });
                    log.LogWarning("The kernel dropped process events (they came faster than read); the next /proc scan makes up for what it can");
                }

                lastRead = now;

                foreach (var e in connector.Read(200))
                {
                    var at = KernelClock.FromMonotonic(e.TimestampNanoseconds);
                    if (e.Kind == ProcEventKind.Exec && ProcFs.Process(e.Pid) is { } process)
                    {
                        _processes[e.Pid] = process;
                        events.Add(Started(process, at));
                    }
                    else if (e.Kind == ProcEventKind.Exit)
                    {
                        _processes.TryRemove(e.Pid, out var gone);
                        events.Add(new ProcessExitEvent { Id = EventId.New(), Time = at, ProcessName = gone?.Name, Pid = e.Pid, ExitCode = e.ExitCode, Container = Container(gone?.ContainerId) });
                    }
                }

                if (events.Count > 0)
                    spool.Record(events);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>
    /// One scan: what connected or began listening since the last one, and (without the kernel's events) what started
    /// or ended; nothing the first time.
    /// </summary>
    public List<TelemetryEvent> Scan()
    {
        var baseline = Interlocked.Increment(ref _scans) == 1;
        var events = new List<TelemetryEvent>();
        var now = time.GetUtcNow();
        // With the kernel's events, a scan looks for processes only for the baseline, or after the kernel dropped events.
        var fromKernel = _connector is not null && !baseline && !Volatile.Read(ref _reconcile);
        Volatile.Write(ref _reconcile, false);

        var seen = new HashSet<int>();
        foreach (var pid in ProcessesFromSensor ? [] : ProcFs.Pids())
        {
            seen.Add(pid);
            if (fromKernel || _processes.ContainsKey(pid) || ProcFs.Process(pid) is not { } process)
                continue;
            _processes[pid] = process;
            if (!baseline)
                events.Add(Started(process, now));
        }

        foreach (var gone in ProcessesFromSensor ? [] : _processes.Keys.Where(pid => !seen.Contains(pid)).ToList())
        {
            // With the kernel's events, its exit was (or is about to be) reported from there.
            if (_processes.TryRemove(gone, out var process) && !fromKernel)
                events.Add(new ProcessExitEvent { Id = EventId.New(), Time = now, ProcessName = process.Name, Pid = gone, Container = Container(process.ContainerId) });
        }

        ScanSockets(events, now, baseline);
        return events;
    }

    private ProcessStartEvent Started(ProcessInfo process, DateTimeOffset now)
    {
        // The kernel's start time; a scan only finds the process later.
        var started = KernelClock.FromBoottime((ulong)process.StartTicks * (1_000_000_000UL / (ulong)ProcFs.TicksPerSecond));
        return new ProcessStartEvent
        {
            Id = EventId.New(),
            Time = started <= now && started > now.AddHours(-1) ? started : now,
            ProcessName = process.Name,
            Pid = process.Pid,
            Ppid = process.Ppid,
            ParentProcessName = _processes.TryGetValue(process.Ppid, out var parent) ? parent.Name : null,
            Executable = string.IsNullOrEmpty(process.Executable) ? process.Args.FirstOrDefault() ?? process.Name : process.Executable,
            Args = process.Args,
            Uid = process.Uid,
            User = _users.Name(process.Uid),
            Cwd = process.Cwd,
            Container = Container(process.ContainerId),
        };
    }

    private void ScanSockets(List<TelemetryEvent> events, DateTimeOffset now, bool baseline)
    {
        var current = new List<SocketEntry>();
        foreach (var (table, protocol) in Tables)
        {
            var path = "/proc/net/" + table;
            if (File.Exists(path))
                current.AddRange(ProcFs.Sockets(protocol, File.ReadLines(path)).Where(s => s.Inode != 0));
        }

        var listening = current.Where(s => s.State == SocketEntry.Listen).Select(s => (s.Protocol, s.LocalPort)).ToHashSet();
        var fresh = current.Where(s => !_sockets.Contains(s.Inode) && Reportable(s, listening)).ToList();
        _sockets.Clear();
        _sockets.UnionWith(current.Select(s => s.Inode));
        if (baseline || fresh.Count == 0)
            return;

        var owners = ProcFs.SocketOwners(fresh.Select(s => s.Inode).ToHashSet());
        foreach (var socket in fresh)
        {
            var owner = owners.TryGetValue(socket.Inode, out var pid) ? _processes.GetValueOrDefault(pid) ?? ProcFs.Process(pid) : null;
            events.Add(socket.State == SocketEntry.Listen
                ? new NetworkListenEvent
                {
                    Id = EventId.New(), Time = now, Protocol = socket.Protocol, LocalAddress = socket.LocalAddress.ToString(), LocalPort = socket.LocalPort,
                    Pid = owner?.Pid, ProcessName = owner?.Name, Container = Container(owner?.ContainerId),
                }
                : new NetworkConnectEvent
                {
                    Id = EventId.New(), Time = now, Protocol = socket.Protocol, LocalAddress = socket.LocalAddress.ToString(), LocalPort = socket.LocalPort,
                    RemoteAddress = socket.RemoteAddress.ToString(), RemotePort = socket.RemotePort,
                    Pid = owner?.Pid, ProcessName = owner?.Name, Container = Container(owner?.ContainerId),
                });
        }
    }

    /// <summary>A socket listening, or one connected out (not a connection accepted on a port this node listens on).</summary>
    private static bool Reportable(SocketEntry socket, HashSet<(NetworkProtocol, int)> listening) => socket.State switch
    {
        SocketEntry.Listen => socket.Protocol == NetworkProtocol.Tcp,
        SocketEntry.Established or SocketEntry.SynSent => !socket.RemoteAddress.Equals(IPAddress.Any) && !socket.RemoteAddress.Equals(IPAddress.IPv6Any)
            && !(socket.Protocol == NetworkProtocol.Tcp && listening.Contains((socket.Protocol, socket.LocalPort))),
        _ => false,
    };

    private static ContainerRef? Container(string? id) => id is null ? null : new ContainerRef { Id = id };
}

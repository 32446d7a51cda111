using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// Issue 20's acceptance, what the sensor captures: the real agent on eBPF, real processes and connections on this
/// machine, read back through the api. Short processes keep their arguments, every connection attempt is there with its
/// result, and times are the kernel's.
/// </summary>
public abstract class AcceptanceCaptureTests(PlatformApi api) : IDisposable
{
    private readonly PlatformApi _api = Agent.AgentTestSupport.WithMachineClock(api);
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            owned.Dispose();
    }

    private async Task<SensorAgent> StartAgent(string name)
    {
        var agent = await SensorAgent.StartAsync(_api, name);
        _owned.Add(agent);
        Assert.False(agent.Process.HasExited, agent.Log);
        await agent.WaitUntilSensingAsync();
        return agent;
    }

    [SkippableFact]
    public async Task A_burst_of_2000_short_processes_is_recorded_whole_each_with_its_arguments()
    {
        var agent = await StartAgent("burst");
        var marker = "burst-" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var driver = agent.Workload("bash", "-c", $"for i in $(seq 1 2000); do sh -c \"true {marker}-$i\"; done");
        driver.StandardInput.Close();
        await driver.WaitForExitAsync();
        Assert.Equal(0, driver.ExitCode);

        var expected = Enumerable.Range(1, 2000).Select(i => $"true {marker}-{i}").ToHashSet();
        List<ProcessStartEvent> seen = [];
        await Sensing.Until(async () =>
        {
            seen = (await agent.Events<ProcessStartEvent>(TelemetryEventKind.Process_start, since))
                .Where(e => e.Args is [_, _, var command] && expected.Contains(command)).ToList();
            return seen.Select(e => e.Args![2]).Distinct().Count() == expected.Count;
        }, $"the 2,000 processes of {marker} (have {seen.Count})", _api);

        Assert.Equal(expected.Count, seen.Count); // each once
        Assert.All(seen, e =>
        {
            Assert.Equal(["sh", "-c"], e.Args!.Take(2));
            Assert.Equal("sh", e.ProcessName);
            Assert.EndsWith("/sh", e.Executable, StringComparison.Ordinal);
            Assert.Equal((driver.Id, "bash"), (e.Ppid, e.ParentProcessName));
        });
        Assert.Equal(expected.Count, seen.Select(e => e.Pid).Distinct().Count());
    }

    [SkippableFact]
    public async Task Two_thousand_loopback_connections_and_500_refused_ones_are_all_recorded_with_process_and_result()
    {
        var agent = await StartAgent("connect");
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4096);
        // A port bound and not listening refuses every connection, and no one else can take it meanwhile.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var (open, refused) = (((IPEndPoint)listener.LocalEndPoint!).Port, ((IPEndPoint)closed.LocalEndPoint!).Port);
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                    (await listener.AcceptAsync(stop.Token)).Dispose();
            }
            catch (OperationCanceledException)
            {
            }
        });

        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        // One bash makes every attempt itself (a redirection of the builtin ':' opens and closes the socket in the shell).
        var driver = agent.Workload("bash", "-c",
            $"for i in $(seq 1 2000); do : <>/dev/tcp/127.0.0.1/{open}; done; for i in $(seq 1 500); do {{ : <>/dev/tcp/127.0.0.1/{refused}; }} 2>/dev/null; done; exit 0");
        driver.StandardInput.Close();
        await driver.WaitForExitAsync();
        Assert.Equal(0, driver.ExitCode);
        await stop.CancelAsync();
        await accepting;

        List<NetworkConnectEvent> attempts = [];
        await Sensing.Until(async () =>
        {
            attempts = (await agent.Events<NetworkConnectEvent>(TelemetryEventKind.Network_connect, since))
                .Where(e => e.RemoteAddress == "127.0.0.1" && (e.RemotePort == open || e.RemotePort == refused) && e.Direction != NetworkDirection.Inbound).ToList();
            return attempts.Count >= 2500;
        }, $"2,500 connection attempts to {open} and {refused} (have {attempts.Count})", _api);

        Assert.Equal(2500, attempts.Count);
        Assert.All(attempts, e => Assert.Equal((driver.Id, "bash", NetworkProtocol.Tcp), (e.Pid, e.ProcessName, e.Protocol)));
        Assert.Equal(2000, attempts.Count(e => e.RemotePort == open && e.Result == ConnectResult.Connected));
        Assert.Equal(500, attempts.Count(e => e.RemotePort == refused && e.Result == ConnectResult.Refused));
    }

    /// <summary>
    /// Each probe's time is taken just before it calls execve and again as its first statement afterwards: the kernel's
    /// exec lies between, so the event's time must too, give or take 10 ms (however busy the machine, the bracket holds).
    /// </summary>
    [SkippableFact]
    public async Task Process_times_are_the_kernels_within_10_ms()
    {
        var agent = await StartAgent("clock");
        var marker = "clock-" + Guid.NewGuid().ToString("N")[..8];
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        const string child = "printf \"%s %d %.6f\\n\", $ARGV[0], $$, clock_gettime(CLOCK_REALTIME)";
        var parent = "for my $i (1..20) { my $pid = fork(); if ($pid == 0) { my $t0 = sprintf('%.6f', clock_gettime(CLOCK_REALTIME)); "
            + $"exec('/usr/bin/perl', '-MTime::HiRes=clock_gettime,CLOCK_REALTIME', '-e', '{child.Replace("'", "\\'", StringComparison.Ordinal)}', \"$t0/{marker}\"); }} waitpid($pid, 0); }}";
        var output = await agent.RunAsync("perl", "-MTime::HiRes=clock_gettime,CLOCK_REALTIME", "-e", parent);
        var probes = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).Select(p => (
            Arg: p[0], Pid: int.Parse(p[1], CultureInfo.InvariantCulture),
            Before: Seconds(p[0].Split('/')[0]), After: Seconds(p[2]))).ToList();
        Assert.Equal(20, probes.Count);

        List<ProcessStartEvent> starts = [];
        await Sensing.Until(async () =>
        {
            starts = (await agent.Events<ProcessStartEvent>(TelemetryEventKind.Process_start, since)).Where(e => e.Args?.LastOrDefault()?.EndsWith(marker, StringComparison.Ordinal) == true).ToList();
            return starts.Count >= probes.Count;
        }, $"the 20 probes of {marker} (have {starts.Count})", _api);

        var tolerance = TimeSpan.FromMilliseconds(10);
        foreach (var probe in probes)
        {
            var start = Assert.Single(starts, e => e.Args![^1] == probe.Arg);
            Assert.Equal(probe.Pid, start.Pid);
            Assert.InRange(start.Time, probe.Before - tolerance, probe.After + tolerance);
        }

        static DateTimeOffset Seconds(string s) =>
            DateTimeOffset.UnixEpoch.AddTicks((long)(decimal.Parse(s, CultureInfo.InvariantCulture) * TimeSpan.TicksPerSecond));
    }
}

public sealed class AcceptanceCaptureTestsOnSqlite(SensorApiOnSqlite api) : AcceptanceCaptureTests(api), IClassFixture<SensorApiOnSqlite>;

public sealed class AcceptanceCaptureTestsOnPostgres(SensorApiOnPostgres api) : AcceptanceCaptureTests(api), IClassFixture<SensorApiOnPostgres>;

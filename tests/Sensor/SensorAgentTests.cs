using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Redaction;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Sensor;

/// <summary>
/// The real agent, as a process, on the kernel sensor against the real api: every start of a burst reaches the api
/// with its argv (secrets redacted), the heartbeat says the sensor runs; without CAP_BPF (capsh) <c>Mode=ebpf</c>
/// stops the agent with exit code 3 and the reason, <c>auto</c> falls back and the heartbeat says why.
/// </summary>
public abstract class SensorAgentTests(PlatformApi api) : IDisposable
{
    private const string NoBpf = "--drop=cap_bpf,cap_sys_admin,cap_perfmon";
    private readonly string _state = Directory.CreateTempSubdirectory("sensor-agent-").FullName;
    private readonly string _marker = "marker-" + Guid.NewGuid().ToString("N")[..12];
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<Process> _agents = [];
    private readonly PlatformApi _api = api.WithMachineClock();

    public void Dispose()
    {
        StopAgentProcesses(_agents);

        Directory.Delete(_state, recursive: true);
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task On_ebpf_every_start_of_a_burst_reaches_the_api_with_its_argv_redacted_and_the_heartbeat_says_ebpf()
    {
        var (agentId, _) = await StartAsync("ebpf", capsh: null);
        await UntilAsync(async () => (await _api.Admin().GetAgentAsync(agentId)).Status?.Sensor?.Mode == AgentSensorMode.Ebpf, "the heartbeat to say ebpf");
        var status = (await _api.Admin().GetAgentAsync(agentId)).Status!;
        Assert.Equal((AgentProcessEvents.Ebpf, (string?)null, 0L), (status.Capabilities.ProcessEvents, status.Sensor!.Reason, status.Sensor.LostEvents));

        const int Burst = 2000;
        var canary = "canary" + Guid.NewGuid().ToString("N");
        await Parallel.ForEachAsync(Enumerable.Range(0, Burst), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
        {
            using var process = Process.Start("/bin/sh", ["-c", $"true {_marker}-{n}"])!;
            await process.WaitForExitAsync(CancellationToken.None);
        });
        using (var token = Process.Start("/bin/echo", ["-H", $"Authorization: Bearer {canary}", _marker])!)
            await token.WaitForExitAsync();

        var mine = await UntilAll(async () => (await _api.Admin().AllEvents(agentId, TelemetryEventKind.Process_start)).OfType<ProcessStartEvent>()
            .Where(e => e.Args?.Any(a => a.Contains(_marker, StringComparison.Ordinal)) == true).ToList(), Burst + 1, "the burst at the api");
        Assert.Equal(Enumerable.Range(0, Burst).Select(n => $"true {_marker}-{n}").Order(),
            mine.Where(e => e.Executable == "/bin/sh").Select(e => e.Args![2]).Order());
        var echo = mine.Single(e => e.Executable == "/bin/echo");
        Assert.DoesNotContain(canary, string.Join(" ", echo.Args!));
        Assert.NotEmpty(echo.Redacted!);
    }

    [Fact]
    public async Task Without_cap_bpf_mode_ebpf_stops_the_agent_with_exit_code_3_and_the_reason()
    {
        var agent = Start("ebpf", NoBpf);
        await agent.WaitForExitAsync();
        Assert.Equal(3, agent.ExitCode);
        var line = Assert.Single(_output, l => l.StartsWith("The kernel sensor", StringComparison.Ordinal));
        Assert.Contains("Mode=ebpf", line);
        Assert.Contains("Operation not permitted", line);
        Assert.False(File.Exists(Path.Combine(_state, "credential.json")), "it stopped before it enrolled");
    }

    [Fact]
    public async Task Without_cap_bpf_mode_auto_falls_back_to_the_collectors_and_the_heartbeat_says_why()
    {
        var (agentId, _) = await StartAsync("auto", NoBpf);
        AgentStatus? status = null;
        await UntilAsync(async () => (status = (await _api.Admin().GetAgentAsync(agentId)).Status)?.Sensor is not null, "a heartbeat");
        Assert.Equal(AgentSensorMode.Fallback, status!.Sensor!.Mode);
        Assert.Contains("Operation not permitted", status.Sensor.Reason);
        Assert.NotEqual(AgentProcessEvents.Ebpf, status.Capabilities.ProcessEvents);
        Assert.Contains(_output, l => l.Contains("The kernel sensor is not used", StringComparison.Ordinal));

        // The fallback collectors record processes.
        using var sleep = Process.Start("/bin/sleep", ["30", _marker])!;
        await UntilAsync(async () => (await _api.Admin().AllEvents(agentId, TelemetryEventKind.Process_start)).OfType<ProcessStartEvent>()
            .Any(e => e.Pid == sleep.Id), "the fallback's start of sleep");
        sleep.Kill();
        await sleep.WaitForExitAsync();
    }

    [Fact]
    public async Task Mode_fallback_is_reported_as_set_and_a_bad_ring_buffer_size_stops_the_agent_with_exit_code_2()
    {
        var refused = Start("ebpf", capsh: null, ringBufferBytes: "5000");
        await refused.WaitForExitAsync();
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains(_output, l => l.Contains("Platform:Agent:Sensor:RingBufferBytes must be a power of two", StringComparison.Ordinal));

        var (agentId, _) = await StartAsync("fallback", capsh: null);
        AgentStatus? status = null;
        await UntilAsync(async () => (status = (await _api.Admin().GetAgentAsync(agentId)).Status)?.Sensor is not null, "a heartbeat");
        Assert.Equal((AgentSensorMode.Fallback, "Platform:Agent:Sensor:Mode is fallback"), (status!.Sensor!.Mode, status.Sensor.Reason));
        Assert.NotEqual(AgentProcessEvents.Ebpf, status.Capabilities.ProcessEvents);
    }

    [Fact]
    public async Task Mode_none_records_no_processes_and_says_so()
    {
        var (agentId, _) = await StartAsync("none", capsh: null);
        AgentStatus? status = null;
        await UntilAsync(async () => (status = (await _api.Admin().GetAgentAsync(agentId)).Status)?.Sensor is not null, "a heartbeat");
        Assert.Equal((AgentSensorMode.None, "Platform:Agent:Sensor:Mode is none", AgentProcessEvents.None),
            (status!.Sensor!.Mode, status.Sensor.Reason, status.Capabilities.ProcessEvents));
    }

    /// <summary>Waits for <paramref name="expected"/> items, as long as more keep arriving (the whole machine's processes go through the api too).</summary>
    private static async Task<List<T>> UntilAll<T>(Func<Task<List<T>>> read, int expected, string what)
    {
        var (count, progress) = (-1, DateTime.UtcNow);
        while (true)
        {
            var items = await read();
            if (items.Count >= expected)
                return items;
            if (items.Count > count)
                (count, progress) = (items.Count, DateTime.UtcNow);
            else if (DateTime.UtcNow - progress > TimeSpan.FromMinutes(1))
                throw new TimeoutException($"{what}: {count} of {expected}, and no more for a minute");
            await Task.Delay(500);
        }
    }

    private async Task<(string AgentId, Process Agent)> StartAsync(string mode, string? capsh)
    {
        var agent = Start(mode, capsh);
        var credential = Path.Combine(_state, "credential.json");
        await Until(() => File.Exists(credential) || agent.HasExited, "the agent to enroll");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        await Until(() => JsonDocument.Parse(File.ReadAllText(credential)).RootElement.TryGetProperty("AgentId", out _), "the credential");
        return (JsonDocument.Parse(File.ReadAllText(credential)).RootElement.GetProperty("AgentId").GetString()!, agent);
    }

    private Process Start(string mode, string? capsh, string ringBufferBytes = "8388608")
    {
        var enrollment = _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "sensor " + mode }).GetAwaiter().GetResult();
        var settings = new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = _api.Http().BaseAddress!.ToString(),
            ["Platform__Agent__EnrollToken"] = enrollment.Secret,
            ["Platform__Agent__StateDirectory"] = _state,
            ["Platform__Agent__Hostname"] = "sensor-" + Guid.NewGuid().ToString("N")[..6],
            ["Platform__Agent__LingerMilliseconds"] = "20",
            ["Platform__Agent__HeartbeatSeconds"] = "1",
            ["Platform__Agent__InventorySeconds"] = "0",
            ["Platform__Agent__WatchFiles"] = "false",
            ["Platform__Agent__BaselineHours"] = "0",
            ["Platform__Agent__PolicySeconds"] = "3600",
            ["Platform__Agent__Sensor__Mode"] = mode,
            ["Platform__Agent__Sensor__RingBufferBytes"] = ringBufferBytes,
        };
        // Under capsh the capabilities are dropped from the bounding set, so the agent (root) runs without them.
        var start = capsh is null
            ? new ProcessStartInfo(AgentExecutable)
            : new ProcessStartInfo("capsh", [capsh, "--", "-c", "exec \"$0\" \"$@\"", AgentExecutable]);
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _agents.Add(process);
        return process;
    }
}

public sealed class SensorAgentTestsOnSqlite(KestrelApiForAgents api) : SensorAgentTests(api), IClassFixture<KestrelApiForAgents>;

public sealed class SensorAgentTestsOnPostgres(KestrelPostgresApiForAgents api) : SensorAgentTests(api), IClassFixture<KestrelPostgresApiForAgents>;

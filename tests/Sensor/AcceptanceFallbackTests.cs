using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// Issue 20's acceptance: without the capabilities BPF needs (dropped with capsh from the bounding set, so the agent
/// never has them), an agent on <c>auto</c> falls back to the proc/netlink collectors and its heartbeat says so and why;
/// one told <c>ebpf</c> (required) stops with exit code 3 and says why on its standard error.
/// </summary>
public abstract class AcceptanceFallbackTests(PlatformApi api) : IDisposable
{
    private static readonly string[] WithoutBpf = ["capsh", "--drop=cap_bpf,cap_sys_admin,cap_perfmon", "--", "-c", "exec \"$0\" \"$@\""];

    private readonly PlatformApi _api = Agent.AgentTestSupport.WithMachineClock(api);
    private SensorAgent? _agent;

    public void Dispose() => _agent?.Dispose();

    [SkippableFact]
    public async Task Without_CAP_BPF_an_auto_agent_falls_back_and_its_heartbeat_says_why()
    {
        var agent = _agent = await SensorAgent.StartAsync(_api, "nobpf-auto", new Dictionary<string, string> { ["Platform__Agent__Sensor__Mode"] = "auto" }, WithoutBpf);
        Assert.False(agent.Process.HasExited, agent.Log);

        var status = await Sensing.Found(async () => (await _api.Admin().GetAgentAsync(agent.AgentId)).Status, "the agent's first heartbeat", _api);
        Assert.NotNull(status.Sensor);
        Assert.Equal(AgentSensorMode.Fallback, status.Sensor.Mode);
        Assert.False(string.IsNullOrWhiteSpace(status.Sensor.Reason), "no reason given");
        Assert.NotEqual(AgentProcessEvents.Ebpf, status.Capabilities.ProcessEvents);
        Assert.False(agent.Process.HasExited, agent.Log);
    }

    [SkippableFact]
    public async Task Without_CAP_BPF_an_agent_that_requires_ebpf_exits_with_code_3_and_says_why()
    {
        var agent = _agent = await SensorAgent.StartAsync(_api, "nobpf-ebpf", new Dictionary<string, string> { ["Platform__Agent__Sensor__Mode"] = "ebpf" }, WithoutBpf);
        using var patience = new CancellationTokenSource(Sensing.Patience);
        await agent.Process.WaitForExitAsync(patience.Token);
        Assert.True(agent.Process.ExitCode == 3, $"exit code {agent.Process.ExitCode}: {agent.Log}");
        Assert.Contains(agent.Output, line => line.Contains("bpf", StringComparison.OrdinalIgnoreCase));
    }
}

public sealed class AcceptanceFallbackTestsOnSqlite(SensorApiOnSqlite api) : AcceptanceFallbackTests(api), IClassFixture<SensorApiOnSqlite>;

public sealed class AcceptanceFallbackTestsOnPostgres(SensorApiOnPostgres api) : AcceptanceFallbackTests(api), IClassFixture<SensorApiOnPostgres>;

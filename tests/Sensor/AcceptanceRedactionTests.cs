using System.Net;
using System.Net.Sockets;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Redaction;

namespace Platform.Tests.Sensor;

/// <summary>
/// Issue 20's acceptance: a token on a command line the kernel sensor reads (argv at exec, however short the process) is
/// redacted before it is spooled, so the canary is in no table, response, bundle, file or log of either the agent or the
/// api.
/// </summary>
public abstract class AcceptanceRedactionTests(PlatformApi api) : IDisposable
{
    private readonly PlatformApi _api = Agent.AgentTestSupport.WithMachineClock(api);
    private SensorAgent? _agent;

    public void Dispose() => _agent?.Dispose();

    [SkippableFact]
    public async Task A_bearer_token_on_a_short_curls_command_line_is_stored_nowhere()
    {
        var canaries = new Canaries();
        var form = canaries.Forms[0]; // curl -H "Authorization: Bearer plt_<canary>"
        Assert.Equal(("curl", "authorization"), (form.Program, form.Reason));
        var from = DateTimeOffset.UtcNow.AddSeconds(-5);
        var agent = _agent = await SensorAgent.StartAsync(_api, "canary");
        Assert.False(agent.Process.HasExited, agent.Log);
        await agent.WaitUntilSensingAsync();

        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, not listening: refused
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        var curl = agent.Workload("curl", "-s", form.Args[0], form.Args[1], $"http://127.0.0.1:{port}/");
        curl.StandardInput.Close();
        await curl.WaitForExitAsync();
        Assert.Equal(7, curl.ExitCode); // could not connect

        var start = await Sensing.Found(async () =>
            (await agent.Events<ProcessStartEvent>(TelemetryEventKind.Process_start, since)).FirstOrDefault(e => e.Pid == curl.Id && e.ProcessName == "curl"),
            "curl's start", _api);
        Assert.Contains(form.Reason, start.Redacted ?? []);
        Assert.Contains(start.Args!, a => a.Contains(SecretRedactor.Marker, StringComparison.Ordinal));
        Assert.Equal($"http://127.0.0.1:{port}/", start.Args![^1]);
        await Sensing.Found(async () =>
            (await agent.Events<NetworkConnectEvent>(TelemetryEventKind.Network_connect, since)).FirstOrDefault(e => e.Pid == curl.Id && e.RemotePort == port),
            "curl's refused connection", _api);

        await agent.KillAsync();
        var until = DateTimeOffset.UtcNow.AddMinutes(1);
        Assert.Empty(canaries.FoundIn(agent.Log));
        Assert.Empty(canaries.FoundIn(Canaries.DumpFiles(agent.State)));
        Assert.Empty(canaries.FoundIn(await Canaries.DumpResponses(_api, agent.AgentId, from, until)));
        Assert.Empty(canaries.FoundIn(await Canaries.DumpStore(_api)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpFiles(_api.DataDirectory)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpLog(_api)));
    }
}

public sealed class AcceptanceRedactionTestsOnSqlite(SensorApiOnSqlite api) : AcceptanceRedactionTests(api), IClassFixture<SensorApiOnSqlite>;

public sealed class AcceptanceRedactionTestsOnPostgres(SensorApiOnPostgres api) : AcceptanceRedactionTests(api), IClassFixture<SensorApiOnPostgres>;

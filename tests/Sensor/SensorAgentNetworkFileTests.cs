using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Redaction;

namespace Platform.Tests.Sensor;

/// <summary>
/// The real agent, as a process with its kernel sensor (<c>Mode=ebpf</c>), against the real api: a read of /etc/shadow
/// with no FIM rule and a refused connect reach the api with their process, and the heartbeat says how many sensitive
/// files the kernel watches.
/// </summary>
public abstract class SensorAgentNetworkFileTests(PlatformApi api) : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("sensor-agent-").FullName;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly PlatformApi _api = api.WithMachineClock();

    public void Dispose()
    {
        Directory.Delete(_state, recursive: true);
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task The_agents_kernel_sensor_reports_a_sensitive_read_and_a_refused_connect_with_their_processes()
    {
        var hostname = $"sensor-{Guid.NewGuid():N}"[..20];
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = hostname });
        using var agent = AgentTestSupport.StartAgentProcess([], new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = _api.Http().BaseAddress!.ToString(),
            ["Platform__Agent__EnrollToken"] = enrollment.Secret,
            ["Platform__Agent__StateDirectory"] = _state,
            ["Platform__Agent__Hostname"] = hostname,
            ["Platform__Agent__LingerMilliseconds"] = "0",
            ["Platform__Agent__HeartbeatSeconds"] = "1",
            ["Platform__Agent__PolicySeconds"] = "3600",
            ["Platform__Agent__Sensor__Mode"] = "ebpf",
            ["Logging__LogLevel__Default"] = "Warning",
        }, _output);
        try
        {
            string? agentId = null;
            AgentSensorStatus? sensor = null;
            await AgentTestSupport.UntilAsync(async () =>
            {
                Assert.False(agent.HasExited, "the agent stopped: " + string.Join('\n', _output));
                agentId ??= (await _api.Admin().ListAgentsAsync(hostname: hostname)).Items.SingleOrDefault()?.Id;
                sensor = agentId is null ? null : (await _api.Admin().GetAgentAsync(agentId)).Status?.Sensor;
                return sensor?.SensitiveFiles > 0;
            }, "a heartbeat with the sensitive files in the kernel's map");
            Assert.Equal((AgentSensorMode.Ebpf, null), (sensor!.Mode, sensor.Reason));

            var cat = await Run("cat", "/etc/shadow");
            var closed = ClosedPort();
            var curl = await Run("curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{closed}/");

            FileAccessEvent? read = null;
            NetworkConnectEvent? refused = null;
            await AgentTestSupport.UntilAsync(async () =>
            {
                read ??= (await _api.Admin().AllEvents(agentId!, TelemetryEventKind.File_access)).OfType<FileAccessEvent>().FirstOrDefault(e => e.Pid == cat);
                refused ??= (await _api.Admin().AllEvents(agentId!, TelemetryEventKind.Network_connect)).OfType<NetworkConnectEvent>()
                    .FirstOrDefault(e => e.Pid == curl && e.RemotePort == closed);
                return read is not null && refused is not null;
            }, "cat's read and curl's connect in the api");
            Assert.Equal(("/etc/shadow", FimOperation.Read, "cat"), (read!.Path, read.Operation, read.ProcessName));
            // Its result and direction are the api's to keep (the ingest part of this change); the sensor tests check what the agent sends.
            Assert.Equal(("curl", "127.0.0.1"), (refused!.ProcessName, refused.RemoteAddress));
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<int> Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        return process.Id;
    }
}

public sealed class SensorAgentNetworkFileTestsOnSqlite(KestrelApiForAgents api) : SensorAgentNetworkFileTests(api), IClassFixture<KestrelApiForAgents>;

public sealed class SensorAgentNetworkFileTestsOnPostgres(KestrelPostgresApiForAgents api) : SensorAgentNetworkFileTests(api), IClassFixture<KestrelPostgresApiForAgents>;

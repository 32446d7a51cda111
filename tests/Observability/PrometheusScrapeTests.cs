using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.Tests.Observability;

/// <summary>
/// The acceptance of the observability issue, end to end with real processes: the api (its scrape listener on a port of
/// its own) and the native agent (its own listener) are scraped every second by a real Prometheus server while the
/// agent's simulated flight data is ingested; Prometheus's query API must show a non-zero ingest rate, then, with the
/// api stopped, the agent's spool filling up and its deliveries failing.
/// </summary>
public sealed class PrometheusScrapeTests(ITestOutputHelper log) : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("otel-api-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("otel-agent-").FullName;
    private readonly string _admin = "plt_otel-admin-" + Guid.NewGuid().ToString("N");
    private readonly ConcurrentQueue<string> _agentOutput = new();
    private ApiProcess? _api;
    private Process? _agent;
    private PrometheusServer? _prometheus;

    public Task InitializeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task Prometheus_sees_the_ingest_rate_and_the_agents_spool_filling_while_the_api_is_down()
    {
        PrometheusServer.Require();
        var clock = Stopwatch.StartNew();
        var (apiPort, apiMetrics) = await StartApiAsync();
        var admin = new PlatformClient(_api!.Http(_admin));
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "observability" });

        var agentMetrics = PrometheusServer.FreePort();
        _agent = AgentTestSupport.StartAgentProcess(["simulate", "--rate", "400", "--seconds", "600"], new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = $"http://127.0.0.1:{apiPort}/",
            ["Platform__Agent__EnrollToken"] = enrollment.Secret,
            ["Platform__Agent__StateDirectory"] = _state,
            ["Platform__Agent__Hostname"] = "otel-01",
            ["Platform__Agent__LingerMilliseconds"] = "100",
            ["Platform__Agent__HeartbeatSeconds"] = "3600",
            ["Platform__Agent__PolicySeconds"] = "3600",
            ["Platform__Agent__Observability__PrometheusUrl"] = $"http://127.0.0.1:{agentMetrics}",
            ["Logging__LogLevel__Default"] = "Warning",
        }, _agentOutput);

        _prometheus = await PrometheusServer.StartAsync(new Dictionary<string, string>
        {
            ["platform-api"] = $"127.0.0.1:{apiMetrics}",
            ["platform-agent"] = $"127.0.0.1:{agentMetrics}",
        });
        var patience = TimeSpan.FromSeconds(90);

        var rate = await _prometheus.UntilAsync("sum(rate(platform_events_ingested_total{kind=\"flight_data\",store=\"sqlite\"}[15s]))", v => v > 0, patience, AgentOutput);
        var depth = await _prometheus.UntilAsync("sum(platform_agent_spool_depth{job=\"platform-agent\"})", _ => true, patience, AgentOutput);
        log.WriteLine($"ingest {rate:0.#} events/s, spool depth {depth} while the api is up ({clock.Elapsed.TotalSeconds:0.#} s)");

        // The api goes away: the agent keeps recording, its spool grows, its deliveries fail (and are tried again).
        await _api.StopAsync();
        var spooled = await _prometheus.UntilAsync("sum(platform_agent_spool_depth{queue=\"telemetry\"})", v => v >= 1000, patience, AgentOutput);
        await _prometheus.UntilAsync("sum(platform_agent_delivery_failures_total{reason=\"unreachable\"})", v => v > 0, patience, AgentOutput);
        var captured = await _prometheus.QueryAsync("sum(platform_agent_records_captured_total{queue=\"telemetry\"})");
        Assert.True(captured >= spooled, $"captured {captured} < spooled {spooled}");
        log.WriteLine($"spool depth {spooled} with the api down; done in {clock.Elapsed.TotalSeconds:0.#} s");
    }

    /// <summary>The api on a Unix socket and a loopback port, with its scrape listener on another; new ports if one was taken meanwhile.</summary>
    private async Task<(int Api, int Metrics)> StartApiAsync()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        for (var attempt = 1; ; attempt++)
        {
            var (port, metrics) = (PrometheusServer.FreePort(), PrometheusServer.FreePort());
            try
            {
                _api = await ApiProcess.StartAsync(_data, _admin, configuration, new Dictionary<string, string?>
                {
                    ["Platform__Observability__Prometheus__Enabled"] = "true",
                    ["Platform__Observability__Prometheus__Url"] = $"http://127.0.0.1:{metrics}",
                }, alsoOn: new Uri($"http://127.0.0.1:{port}"));
                return (port, metrics);
            }
            catch (InvalidOperationException exited) when (attempt < 3)
            {
                log.WriteLine($"the api did not start ({exited.Message}); trying other ports");
            }
        }
    }

    private string AgentOutput() => "agent:\n" + string.Join("\n", _agentOutput.TakeLast(40));

    public async Task DisposeAsync()
    {
        if (_prometheus is not null)
            await _prometheus.DisposeAsync();
        if (_agent is not null)
            AgentTestSupport.StopAgentProcesses([_agent]);
        if (_api is not null)
            await _api.DisposeAsync();
        foreach (var directory in new[] { _data, _state })
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

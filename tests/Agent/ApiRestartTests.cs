using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Agent;
using Platform.Agent.Delivery;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>The api as a process of its own, stopped (SIGTERM) and started again on the same data while the agent goes on recording.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ApiRestartTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("api-restart-").FullName;
    private readonly string _state = Directory.CreateTempSubdirectory("agent-restart-").FullName;
    private readonly string _admin = "plt_restart-" + Guid.NewGuid().ToString("N");
    private ApiProcess? _api;
    private IHost? _agent;
    private int _refused;

    public async Task InitializeAsync() => _api = await StartApiAsync();

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.StopAsync();
            _agent.Dispose();
        }

        if (_api is not null)
            await _api.DisposeAsync();
        Directory.Delete(_state, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Every_event_recorded_while_the_api_is_stopped_and_restarted_arrives_exactly_once()
    {
        var admin = new PlatformClient(_api!.Http(_admin));
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "restart" });
        var spool = await StartAgentAsync(enrollment.Secret);
        var produced = new List<string>();
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        var round = 0;

        async Task ProduceAsync(int rounds)
        {
            for (var end = round + rounds; round < end; round++)
            {
                var events = Enumerable.Range(0, 25).Select(i => (TelemetryEvent)TelemetryEvents.Read($"r{round}-{i}", start.AddMilliseconds(round * 25 + i), $"/srv/app/{i}.dat")).ToList();
                spool.Record(events);
                produced.AddRange(events.Select(e => e.Id));
                await Task.Delay(5); // a node's pace: a little at a time
            }
        }

        // Up: delivered as it comes.
        await ProduceAsync(20);
        await Until(() => spool.Telemetry.Counts.Records == 0, "the first events to be delivered");

        // Stopped: the agent goes on recording, its sends are refused.
        await _api.StopAsync();
        var refusedBefore = Volatile.Read(ref _refused);
        await ProduceAsync(40);
        await Until(() => Volatile.Read(ref _refused) >= refusedBefore + 3, "the agent to have tried (and been refused) while the api was stopped");
        Assert.True(spool.Telemetry.Counts.Records > 0);

        // Started again on the same data: what waited goes, with what comes meanwhile.
        _api = await StartApiAsync();
        await ProduceAsync(20);
        await Until(() => spool.Telemetry.Counts.Records == 0, "the spool to drain after the restart");

        var agentId = _agent!.Services.GetRequiredService<Platform.Agent.Enrollment.CredentialStore>().Current!.AgentId;
        admin = new PlatformClient(_api.Http(_admin));
        var stored = (await admin.AllEvents(agentId)).Select(e => e.Id).ToList();
        Assert.Equal(produced.Order(), stored.Order());
        Assert.Empty((await admin.ListTelemetryGapsAsync(agentId)).Items);
        Assert.Single((await admin.ListAgentsAsync(hostname: "restart-01")).Items);
    }

    private Task<ApiProcess> StartApiAsync()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        return ApiProcess.StartAsync(_data, _admin, configuration);
    }

    private async Task<Spool> StartAgentAsync(string enrollToken)
    {
        var options = new AgentOptions
        {
            Server = new Uri("http://api"),
            EnrollToken = enrollToken,
            StateDirectory = _state,
            Hostname = "restart-01",
            LingerMilliseconds = 20,
            HeartbeatSeconds = 3600,
            CollectorMilliseconds = 0, // the node's own processes would mix with the events the test counts
            PolicySeconds = 3600,
        };
        var builder = Host.CreateApplicationBuilder();
        var socket = _api!.SocketPath; // the same after the restart
        builder.Services.AddPlatformAgent(options, () => new RefusalCounter(this, ApiProcess.Handler(socket)));
        _agent = builder.Build();
        await _agent.StartAsync();
        return _agent.Services.GetRequiredService<Spool>();
    }

    /// <summary>Counts the connections refused (the api stopped), to know the agent tried meanwhile.</summary>
    private sealed class RefusalCounter(ApiRestartTests test, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref test._refused);
                throw;
            }
        }
    }
}

using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;
using Platform.Contracts;

namespace Platform.Agent;

/// <summary>Tells the api the agent is alive, at <see cref="AgentOptions.HeartbeatSeconds"/>; flushes the spool to disk on the same beat.</summary>
public sealed class HeartbeatService(Spool spool, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, ILogger<HeartbeatService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.HeartbeatSeconds));
        do
        {
            spool.Sync();
            try
            {
                var credential = await credentials.GetAsync(stoppingToken);
                await new PlatformClient(clients.CreateClient(PlatformHttp.Api))
                    .RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = AgentVersion.Current, Os = Environment.OSVersion.ToString() }, credential.AgentId, stoppingToken);
            }
            catch (Exception failure) when (failure is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Heartbeat not delivered: {Reason}", failure.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

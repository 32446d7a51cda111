namespace Platform.Api.Agents;

/// <summary>Runs <see cref="AgentSilence.ScanAsync"/> every <see cref="AgentsOptions.SilenceScanInterval"/> on each instance (they do not raise one silence twice).</summary>
public sealed class AgentSilenceMonitor(AgentSilence silence, AgentsOptions options, ILogger<AgentSilenceMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SilenceScanInterval, TimeProvider.System);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                // A full batch: more are waiting; take them now rather than an interval later.
                while (await silence.ScanAsync(stoppingToken) >= options.SilenceScanBatch)
                {
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Looking for silent agents failed; trying again in {Interval}.", options.SilenceScanInterval);
            }
        }
    }
}

namespace Platform.Api.Agents;

/// <summary>Runs <see cref="AgentSilence.ScanAsync"/> every <see cref="AgentsOptions.SilenceScanInterval"/> on each instance (they do not raise one silence twice).</summary>
public sealed class AgentSilenceMonitor(AgentSilence silence, AgentsOptions options, TimeProvider time, ILogger<AgentSilenceMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Paced by the clock that judges silence (AgentSilence's): on the machine's clock, a clock the app is given
        // (tests move theirs by hand) found agents silent at moments set by the machine's time, between a test's steps.
        using var timer = new PeriodicTimer(options.SilenceScanInterval, time);
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

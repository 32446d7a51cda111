namespace Platform.Api.Storage;

/// <summary>
/// A background service that works off a queue in the database (detection's batches, the webhook outbox): it
/// drains it, then waits until this instance queues something (<see cref="Wake"/>) or the poll interval passes
/// (another instance may have queued it). A failed pass is logged; its work stays queued for the next one.
/// </summary>
public abstract class QueueWorker(ILogger logger, string failure) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>How long to wait for a wake before looking anyway (paced by the machine's clock; tests move the API's).</summary>
    protected abstract TimeSpan PollInterval { get; }

    protected virtual bool Enabled => true;

    /// <summary>After a wake, how long to let more work gather before the pass (work taken in bulk costs less per item).</summary>
    protected virtual TimeSpan Gather => TimeSpan.Zero;

    /// <summary>Whether the loop runs on a thread of its own (<see cref="DedicatedThread"/>) instead of the thread pool.</summary>
    protected virtual bool OwnThread => false;

    /// <summary>Everything queued now, done (the service does this in the background; tests and tools call it).</summary>
    public abstract Task DrainAsync(CancellationToken cancellationToken);

    /// <summary>Something was queued on this instance: look now rather than at the next poll.</summary>
    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
                _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
            return Task.CompletedTask;
        return OwnThread ? DedicatedThread.RunAsync(GetType().Name, () => WorkAsync(stoppingToken)) : WorkAsync(stoppingToken);
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DrainAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "{Failure}", failure);
            }

            try
            {
                if (await _wake.WaitAsync(PollInterval, stoppingToken) && Gather > TimeSpan.Zero)
                    await Task.Delay(Gather, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

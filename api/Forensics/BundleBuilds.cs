using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Platform.Api.Forensics;

/// <summary>Where a bundle's background build stands: building, or queued behind <c>Ahead</c> others.</summary>
public sealed record BundleBuildState(string Identity, bool Building, int Ahead, long Events);

/// <summary>
/// Builds large bundles off the request path, one at a time. A bundle's build costs CPU in proportion to the events in
/// its window (about 1 s for 150,000 events here: bench suite=analyst), more than any single request may cost. A
/// request for a large bundle that is not built yet queues its build and answers 202; the client asks again and gets
/// the file once it is there. One build at a time and a bounded queue: however many such requests come, bundle
/// building takes one core at most and the api's memory does not grow with the requests.
/// </summary>
public sealed class BundleBuilds(ForensicBundles bundles, ForensicsOptions options, ILogger<BundleBuilds> logger) : BackgroundService
{
    private readonly Channel<BundlePlan> _queue = Channel.CreateUnbounded<BundlePlan>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Builds queued or running, by identity: a second request for one joins it.</summary>
    private readonly ConcurrentDictionary<string, Entry> _builds = new(StringComparer.Ordinal);

    private long _queued;
    private long _started;

    private sealed class Entry(long position, long events)
    {
        public long Position { get; } = position;
        public long Events { get; } = events;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// Queues the plan's build unless it is queued or running already; null when the queue is full
    /// (<see cref="ForensicsOptions.QueuedBuilds"/>).
    /// </summary>
    /// <summary>Builds waiting to start.</summary>
    public int Queued => _queue.Reader.Count;

    public BundleBuildState? Enqueue(BundlePlan plan)
    {
        lock (_builds)
        {
            if (!_builds.TryGetValue(plan.Identity, out var entry))
            {
                if (_builds.Count >= options.QueuedBuilds)
                    return null;
                entry = new Entry(++_queued, plan.Events);
                _builds[plan.Identity] = entry;
                _queue.Writer.TryWrite(plan);
            }

            // Builds are started in queue order: those numbered up to _started have started.
            var started = Interlocked.Read(ref _started);
            return new BundleBuildState(plan.Identity, entry.Position <= started, (int)Math.Max(0, entry.Position - started), entry.Events);
        }
    }

    /// <summary>Completes when every build queued so far is over: for tests and tools.</summary>
    public async Task WhenIdleAsync()
    {
        while (_builds.Values.Select(e => e.Done.Task).ToList() is { Count: > 0 } pending)
            await Task.WhenAll(pending);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var plan in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            Interlocked.Increment(ref _started);
            try
            {
                await bundles.FileAsync(plan, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Not kept: the next request for it queues it again.
                logger.LogError(ex, "Building bundle {Identity} of {Events} events failed", plan.Identity, plan.Events);
            }
            finally
            {
                lock (_builds)
                {
                    if (_builds.TryRemove(plan.Identity, out var entry))
                        entry.Done.TrySetResult();
                }
            }
        }
    }
}

namespace Platform.Api.Storage;

/// <summary>
/// Group commit: items are queued, and each of <c>writers</c> loops takes every item waiting (up to a group's limit)
/// and writes them in one go, so the part of a write path that cannot run in parallel (SQLite has one writer) is one
/// short transaction for many items, not one for each. A group that fails is written again one item at a time, so one
/// bad item does not fail the others. Disposing lets the items already queued be written.
/// </summary>
public sealed class GroupCommit<TItem, TResult>(int writers, int groupLimit, Func<IReadOnlyList<TItem>, Task<List<TResult>>> writeGroup) : IAsyncDisposable
{
    private readonly System.Threading.Channels.Channel<Pending> _queue = System.Threading.Channels.Channel.CreateUnbounded<Pending>();

    private readonly Lock _start = new();

    /// <summary>Items queued and not yet taken by a writer (a gauge of docs/observability.md).</summary>
    public int Waiting => _queue.Reader.Count;

    private Task? _writers;

    private sealed record Pending(TItem Item)
    {
        public TaskCompletionSource<TResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Queues the item; the task ends when it is written. A cancelled caller does not take its item back: it may still be written.</summary>
    public Task<TResult> WriteAsync(TItem item, CancellationToken cancellationToken)
    {
        var pending = new Pending(item);
        lock (_start)
            _writers ??= Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(WriteLoopAsync)));

        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The writer is shutting down.");
        return pending.Result.Task.WaitAsync(cancellationToken);
    }

    private async Task WriteLoopAsync()
    {
        var group = new List<Pending>(groupLimit);
        while (await _queue.Reader.WaitToReadAsync())
        {
            group.Clear();
            while (group.Count < groupLimit && _queue.Reader.TryRead(out var pending))
                group.Add(pending);
            try
            {
                var results = await writeGroup(group.Select(p => p.Item).ToList());
                for (var i = 0; i < group.Count; i++)
                    group[i].Result.SetResult(results[i]);
            }
            catch (Exception) when (group.Count > 1)
            {
                // One item must not fail the others: write them one by one, each with its own outcome.
                foreach (var pending in group)
                {
                    try
                    {
                        pending.Result.SetResult((await writeGroup([pending.Item]))[0]);
                    }
                    catch (Exception ex)
                    {
                        pending.Result.SetException(ex);
                    }
                }
            }
            catch (Exception ex)
            {
                group[0].Result.SetException(ex);
            }
        }
    }

    /// <summary>Lets the items already taken be written before the application stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        if (_writers is not null)
            await _writers;
    }
}

namespace Platform.Api.Storage;

/// <summary>
/// SQLite's one writer, taken in turns. Requests (ingest's group commits, FIM alerts, people's changes) queue in
/// order and are handed the turn as it is given back. Background work (detection's findings, retention, webhook
/// delivery) takes it only when no request is waiting, or, so that it is never starved, once it has waited
/// <see cref="BackgroundPatience"/> (on <paramref name="clock"/>: the machine's, not the API's, which tests move by days).
/// </summary>
/// <remarks>
/// Why not first come, first served: a turn handed to a waiter starts only when the waiter's thread runs again,
/// a few milliseconds later on busy cores, and the writer is idle until then. Handed to detection after every
/// pass, that idle time kept ingest waiting (measured on 2 cores: 200-450 ms in a 4 s run for 30-80 ms of
/// detection's own writing). Background work is instead told the writer is free and takes the turn if it still is
/// when it runs; a request that comes first takes it.
/// </remarks>
public sealed class WriterGate(TimeProvider clock)
{
    public static readonly TimeSpan BackgroundPatience = TimeSpan.FromMilliseconds(200);

    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _requests = new();
    private readonly LinkedList<Waiter> _background = new();
    private bool _held;

    /// <summary>Waits for the turn; dispose the result to give it back.</summary>
    public async Task<IDisposable> EnterAsync(bool background, CancellationToken cancellationToken)
    {
        var since = clock.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waiter = new Waiter(since);
            lock (_lock)
            {
                if (!_held && (!background || _requests.Count == 0))
                {
                    _held = true;
                    return new Turn(this);
                }

                waiter.Node = (background ? _background : _requests).AddLast(waiter);
            }

            bool granted;
            await using (cancellationToken.Register(() => Abandon(waiter, cancellationToken)))
                granted = await waiter.Signal.Task;
            if (granted)
                return new Turn(this);
            // Told the writer was free: try again (a request may have taken it first), still waiting since the start.
        }
    }

    private void Abandon(Waiter waiter, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Already signalled (granted or told to try): the waiter goes on, and sees the cancellation next.
            if (waiter.Node?.List is not { } list)
                return;
            list.Remove(waiter.Node);
        }

        waiter.Signal.TrySetCanceled(cancellationToken);
    }

    private void Exit()
    {
        Waiter? next;
        var granted = true;
        lock (_lock)
        {
            if (_background.First is { } patient && clock.GetElapsedTime(patient.Value.Since) >= BackgroundPatience)
                next = patient.Value;
            else if (_requests.First is { } request)
                next = request.Value;
            else
            {
                _held = false;
                next = _background.First?.Value;
                granted = false;
            }

            if (next is not null)
                next.Node!.List!.Remove(next.Node);
        }

        next?.Signal.TrySetResult(granted);
    }

    private sealed class Waiter(long since)
    {
        public long Since { get; } = since;

        public LinkedListNode<Waiter>? Node { get; set; }

        /// <summary>True: the turn is the waiter's. False: the writer is free, take it if still so.</summary>
        public TaskCompletionSource<bool> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Turn(WriterGate gate) : IDisposable
    {
        private int _exited;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _exited, 1) == 0)
                gate.Exit();
        }
    }
}

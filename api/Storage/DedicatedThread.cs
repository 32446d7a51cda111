using System.Collections.Concurrent;

namespace Platform.Api.Storage;

/// <summary>
/// Runs asynchronous work on a thread of its own: every continuation comes back to that thread (it is the work's
/// <see cref="SynchronizationContext"/>), so a background loop's CPU work stays off the thread pool that serves
/// requests, on one long-lived thread rather than a new one each time. (It did not, on its own, end ingest's wait
/// for a turn handed to detection: a woken thread still starts late on busy cores. <see cref="WriterGate"/> did.)
/// </summary>
public sealed class DedicatedThread : SynchronizationContext
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _due = new();

    private DedicatedThread()
    {
    }

    /// <summary>Starts <paramref name="work"/> on a new background thread; the task completes as the work does.</summary>
    public static Task RunAsync(string name, Func<Task> work)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var context = new DedicatedThread();
            SetSynchronizationContext(context);
            Task task;
            try
            {
                task = work();
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            task.ContinueWith(_ => context._due.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            foreach (var (callback, state) in context._due.GetConsumingEnumerable())
                callback(state);
            if (task.IsCanceled)
                completion.SetCanceled();
            else if (task.Exception is { } failure)
                completion.SetException(failure.InnerExceptions);
            else
                completion.SetResult();
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return completion.Task;
    }

    public override void Post(SendOrPostCallback d, object? state)
    {
        // Work posted after the loop ended (a late timer's continuation) runs on the pool instead of being lost.
        if (!_due.IsAddingCompleted)
        {
            try
            {
                _due.Add((d, state));
                return;
            }
            catch (InvalidOperationException)
            {
            }
        }

        ThreadPool.QueueUserWorkItem(s => d(s), state);
    }

    public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException("Work on a dedicated thread is posted, never sent.");

    public override SynchronizationContext CreateCopy() => this;
}

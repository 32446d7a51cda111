using Platform.Api.Storage;

namespace Platform.Tests.Storage;

public sealed class DedicatedThreadTests
{
    [Fact]
    public async Task Work_and_every_continuation_of_it_run_on_one_named_thread_of_its_own()
    {
        var threads = new List<(int Id, string? Name, bool Pool)>();
        void Record() => threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread));

        await DedicatedThread.RunAsync("test-worker", async () =>
        {
            Record();
            await Task.Yield();
            Record();
            await Task.Delay(TimeSpan.FromMilliseconds(1));
            Record();
            await Task.Run(() => { }); // completed on the pool; the continuation still comes back
            Record();
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(4, threads.Count);
        Assert.Single(threads.Distinct());
        Assert.Equal("test-worker", threads[0].Name);
        Assert.False(threads[0].Pool);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads[0].Id);
    }

    [Fact]
    public async Task A_failure_or_cancellation_of_the_work_is_the_task_s()
    {
        var failed = DedicatedThread.RunAsync("test-failing", async () =>
        {
            await Task.Yield();
            throw new InvalidOperationException("boom");
        });
        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => failed.WaitAsync(TimeSpan.FromSeconds(30)))).Message);

        var cancelled = DedicatedThread.RunAsync("test-cancelled", () => Task.FromCanceled(new CancellationToken(canceled: true)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}

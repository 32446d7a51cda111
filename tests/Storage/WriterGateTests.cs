using Microsoft.Extensions.Time.Testing;
using Platform.Api.Storage;

namespace Platform.Tests.Storage;

/// <summary>SQLite's writer taken in turns: requests in order, background work after them but never starved, waits that can be cancelled.</summary>
public sealed class WriterGateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task One_writer_at_a_time_and_requests_in_the_order_they_came()
    {
        var gate = new WriterGate(_clock);
        var holder = await gate.EnterAsync(background: false, CancellationToken.None);
        var first = gate.EnterAsync(background: false, CancellationToken.None);
        var second = gate.EnterAsync(background: false, CancellationToken.None);
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        holder.Dispose();
        var turn = await first.WaitAsync(Bound);
        Assert.False(second.IsCompleted);
        turn.Dispose();
        (await second.WaitAsync(Bound)).Dispose();
    }

    [Fact]
    public async Task Background_work_lets_a_waiting_request_go_first_and_takes_the_writer_when_it_is_free()
    {
        var gate = new WriterGate(_clock);
        var holder = await gate.EnterAsync(background: false, CancellationToken.None);
        var background = gate.EnterAsync(background: true, CancellationToken.None);
        var request = gate.EnterAsync(background: false, CancellationToken.None);

        holder.Dispose();
        var requestTurn = await request.WaitAsync(Bound);
        Assert.False(background.IsCompleted);
        requestTurn.Dispose();
        (await background.WaitAsync(Bound)).Dispose();

        // Free and nobody waiting: background work takes it at once.
        Assert.True(gate.EnterAsync(background: true, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Background_work_that_waited_its_patience_is_handed_the_writer_before_requests()
    {
        var gate = new WriterGate(_clock);
        var holder = await gate.EnterAsync(background: false, CancellationToken.None);
        var background = gate.EnterAsync(background: true, CancellationToken.None);
        var request = gate.EnterAsync(background: false, CancellationToken.None);

        _clock.Advance(WriterGate.BackgroundPatience);
        holder.Dispose();
        var backgroundTurn = await background.WaitAsync(Bound);
        Assert.False(request.IsCompleted);
        backgroundTurn.Dispose();
        (await request.WaitAsync(Bound)).Dispose();
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_the_queue_and_the_next_waiter_gets_the_turn()
    {
        var gate = new WriterGate(_clock);
        var holder = await gate.EnterAsync(background: false, CancellationToken.None);
        using var cancellation = new CancellationTokenSource();
        var cancelled = gate.EnterAsync(background: false, cancellation.Token);
        var next = gate.EnterAsync(background: false, CancellationToken.None);

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Bound));
        holder.Dispose();
        var turn = await next.WaitAsync(Bound);

        // Giving a turn back twice gives it back once.
        turn.Dispose();
        turn.Dispose();
        var again = await gate.EnterAsync(background: false, CancellationToken.None).WaitAsync(Bound);
        Assert.False(gate.EnterAsync(background: false, CancellationToken.None).IsCompleted);
        again.Dispose();
    }
}

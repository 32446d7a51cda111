using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Platform.Agent;
using Platform.Agent.Collectors;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>The agent's own downtime is a coverage gap from the last time it knew it ran to its next start.</summary>
public sealed class DowntimeTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("downtime-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [Fact]
    public void A_first_start_reports_nothing_and_a_restart_reports_the_time_it_was_down()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero));
        using var spool = new Spool(Path.Combine(_state, "spool"), 1 << 20);

        RunOnce(spool, clock);
        Assert.Empty(Gaps(spool));

        var lastAlive = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromSeconds(5)); // SIGKILLed, then started again 5 s later
        RunOnce(spool, clock);

        var gap = Assert.Single(Gaps(spool));
        Assert.Equal(CoverageGapReason.AgentDown, gap.Reason);
        Assert.Equal(lastAlive, gap.Time);
        Assert.Equal(lastAlive.AddSeconds(5), gap.Until);
        Assert.Null(gap.LostEvents);
    }

    [Fact]
    public void A_stamp_that_is_not_one_is_treated_as_a_first_start()
    {
        File.WriteAllBytes(Path.Combine(_state, Downtime.FileName), [1, 2, 3]);
        using var spool = new Spool(Path.Combine(_state, "spool"), 1 << 20);
        RunOnce(spool, new FakeTimeProvider(DateTimeOffset.UtcNow));
        Assert.Empty(Gaps(spool));
    }

    /// <summary>Starts the recorder (it reports the downtime and stamps the time) and leaves it, as a kill would.</summary>
    private void RunOnce(Spool spool, FakeTimeProvider clock)
    {
        using var downtime = new Downtime(spool, new AgentOptions { StateDirectory = _state }, clock, NullLogger<Downtime>.Instance);
        downtime.Begin();
    }

    private static List<CoverageGapEvent> Gaps(Spool spool)
    {
        var batch = spool.Telemetry.Take(1000, long.MaxValue);
        if (batch is null)
            return [];
        spool.Telemetry.Acknowledge(batch);
        return batch.Records.Select(r => JsonSerializer.Deserialize<TelemetryEvent>(r, Spool.Json)).OfType<CoverageGapEvent>().ToList();
    }
}

using Platform.Agent.Delivery;

namespace Platform.Agent.Collectors;

/// <summary>
/// The agent's own downtime as a coverage gap: while the flight data recorder runs, the time is written to
/// <c>alive</c> in the state directory every second; when the agent starts again (after a stop, a crash, a SIGKILL or
/// a reboot) it records a <c>coverage_gap</c> event (reason <c>agent-down</c>) from the last time it knew it was
/// running to now, because whatever ran on the node in between was not seen. A first start (no <c>alive</c> yet)
/// has nothing to report. The stamp is not forced to disk each second: after a crash of the machine itself it may be
/// older than the last moment the agent ran, so the gap reported is longer, never shorter, than the real one.
/// </summary>
public sealed class Downtime(Spool spool, AgentOptions options, TimeProvider time, ILogger<Downtime> log) : BackgroundService
{
    /// <summary>How often the agent writes that it is alive: the most by which a reported gap can overstate downtime.</summary>
    public static readonly TimeSpan Beat = TimeSpan.FromSeconds(1);

    public const string FileName = "alive";

    private Microsoft.Win32.SafeHandles.SafeFileHandle? _stamp;
    private readonly byte[] _bytes = new byte[sizeof(long)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.CollectorMilliseconds <= 0 || !OperatingSystem.IsLinux())
            return; // no flight data is recorded here (simulate, or collectors off): nothing can be missed

        Begin();
        using var timer = new PeriodicTimer(Beat, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            Stamp();
    }

    /// <summary>Reports the time since the last stamp, if there is one, as downtime, and stamps now.</summary>
    public void Begin()
    {
        Directory.CreateDirectory(options.StateDirectory);
        _stamp ??= File.OpenHandle(Path.Combine(options.StateDirectory, FileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var now = time.GetUtcNow();
        if (LastAlive(_stamp) is { } last && last < now)
        {
            spool.Record([new CoverageGapEvent
            {
                Id = EventId.New(),
                Time = last,
                Until = now,
                Reason = CoverageGapReason.AgentDown,
            }]);
            log.LogWarning("The agent was not running from {From:O} to {Until:O}: recorded as a coverage gap", last, now);
        }

        Stamp();
    }

    private void Stamp()
    {
        BitConverter.TryWriteBytes(_bytes, time.GetUtcNow().UtcTicks);
        RandomAccess.Write(_stamp!, _bytes, 0);
    }

    public override void Dispose()
    {
        _stamp?.Dispose();
        base.Dispose();
    }

    /// <summary>The time last written, or null on a first start (or a stamp that is not one).</summary>
    private static DateTimeOffset? LastAlive(Microsoft.Win32.SafeHandles.SafeFileHandle stamp)
    {
        var bytes = new byte[sizeof(long)];
        if (RandomAccess.Read(stamp, bytes, 0) != bytes.Length)
            return null;
        var ticks = BitConverter.ToInt64(bytes);
        return ticks > DateTimeOffset.UnixEpoch.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
    }
}

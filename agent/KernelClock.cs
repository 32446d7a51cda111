namespace Platform.Agent;

/// <summary>
/// Turns the kernel's own clocks into wall-clock time, to the nanosecond the kernel gives: eBPF programs stamp events
/// with CLOCK_BOOTTIME (<c>bpf_ktime_get_boot_ns</c>), the proc connector with CLOCK_MONOTONIC, and /proc gives start
/// times in clock ticks since boot. The boot time in /proc/stat is whole seconds (events came out up to a second
/// early); here each clock's distance to CLOCK_REALTIME is measured by reading the clocks side by side, keeping the
/// closest of a few readings, and measured again now and then so that NTP's corrections of the wall clock carry over.
/// </summary>
public static partial class KernelClock
{
    private const int ClockRealtime = 0;
    private const int ClockMonotonic = 1;
    private const int ClockBoottime = 7;

    private static readonly TimeSpan Remeasure = TimeSpan.FromSeconds(10);
    private static (long RealMinusBoot, long RealMinusMonotonic, long MeasuredAt) _offsets = (0, 0, long.MinValue);

    /// <summary>The wall-clock time of a CLOCK_BOOTTIME reading in nanoseconds (what eBPF programs stamp).</summary>
    public static DateTimeOffset FromBoottime(ulong nanoseconds) => FromUnixNanoseconds((long)nanoseconds + Offsets().RealMinusBoot);

    /// <summary>The wall-clock time of a CLOCK_MONOTONIC reading in nanoseconds (what the proc connector stamps).</summary>
    public static DateTimeOffset FromMonotonic(ulong nanoseconds) => FromUnixNanoseconds((long)nanoseconds + Offsets().RealMinusMonotonic);

    /// <summary>CLOCK_BOOTTIME now, in nanoseconds.</summary>
    public static ulong BoottimeNow() => (ulong)Read(ClockBoottime);

    /// <summary>CLOCK_MONOTONIC now, in nanoseconds.</summary>
    public static ulong MonotonicNow() => (ulong)Read(ClockMonotonic);

    private static DateTimeOffset FromUnixNanoseconds(long nanoseconds) => DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100);

    private static (long RealMinusBoot, long RealMinusMonotonic, long MeasuredAt) Offsets()
    {
        var offsets = _offsets;
        var now = Environment.TickCount64;
        if (offsets.MeasuredAt != long.MinValue && now - offsets.MeasuredAt < Remeasure.TotalMilliseconds)
            return offsets;
        offsets = (Measure(ClockBoottime), Measure(ClockMonotonic), now);
        _offsets = offsets;
        return offsets;
    }

    /// <summary>CLOCK_REALTIME minus <paramref name="clock"/>: the reading taken between the two closest realtime reads of five.</summary>
    private static long Measure(int clock)
    {
        var (best, window) = (0L, long.MaxValue);
        for (var i = 0; i < 5; i++)
        {
            var before = Read(ClockRealtime);
            var other = Read(clock);
            var after = Read(ClockRealtime);
            if (after - before < window)
                (best, window) = (before + ((after - before) / 2) - other, after - before);
        }

        return best;
    }

    private static unsafe long Read(int clock)
    {
        TimeSpec spec;
        if (ClockGetTime(clock, &spec) != 0)
            throw new InvalidOperationException($"clock_gettime({clock}) failed: errno {Marshal.GetLastPInvokeError()}");
        return (spec.Seconds * 1_000_000_000L) + spec.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static unsafe partial int ClockGetTime(int clock, TimeSpec* spec);
}

using Platform.Agent.Delivery;

namespace Platform.Agent.Sensor;

/// <summary>
/// Which sensor the agent runs, chosen once at start (<see cref="Choose"/>): the kernel sensor when the options allow it
/// and the kernel takes it, else the fallback collectors (<see cref="Collectors.FlightDataCollector"/>) with the reason,
/// else none.
/// </summary>
public sealed record SensorChoice(SensorState State, KernelSensor? Sensor, IReadOnlyList<string> Warnings)
{
    /// <summary>The choice for these options; for <see cref="SensorMode.Ebpf"/> a sensor that cannot load is a choice of none with the reason (the caller exits).</summary>
    public static SensorChoice Choose(AgentOptions options)
    {
        var warnings = new List<string>();
        var mode = options.Sensor.Mode;
        if (mode == SensorMode.None || options.CollectorMilliseconds <= 0)
            return new(new SensorState(AgentSensorMode.None, mode == SensorMode.None ? $"{SensorOptions.Section}:Mode is none" : $"{AgentOptions.Section}:CollectorMilliseconds is 0"), null, warnings);
        if (mode == SensorMode.Fallback)
            return new(new SensorState(AgentSensorMode.Fallback, $"{SensorOptions.Section}:Mode is fallback"), null, warnings);
        if (!OperatingSystem.IsLinux())
            return new(new SensorState(mode == SensorMode.Ebpf ? AgentSensorMode.None : AgentSensorMode.Fallback, "the kernel sensor needs Linux"), null, warnings);

        var sensor = KernelSensor.TryLoad(Path.Combine(AppContext.BaseDirectory, KernelSensor.ObjectFile), options.Sensor.RingBufferBytes, warnings, out var reason);
        return sensor is not null ? new(new SensorState(AgentSensorMode.Ebpf, null), sensor, warnings)
            : new(new SensorState(mode == SensorMode.Ebpf ? AgentSensorMode.None : AgentSensorMode.Fallback, reason), null, warnings);
    }
}

/// <summary>
/// Runs the kernel sensor when it was chosen: its records, drained by <see cref="KernelSensor"/> into its queue, are
/// turned into flight data here in batches (by the <see cref="ISensorRecordConverter"/>s) and recorded in the spool
/// (which redacts them); the kernel's loss counters are read about once a second, and losses become
/// <c>sensor-overflow</c> coverage gaps with their span.
/// </summary>
public sealed class SensorService(SensorChoice choice, ProcessTable processes, IEnumerable<ISensorRecordConverter> converters, Spool spool, ILogger<SensorService> log) : BackgroundService
{
    private const int BatchRecords = 1000;

    /// <summary>How often records are taken from the queue at most (so also what they may wait there).</summary>
    private const int BatchMilliseconds = 100;
    private readonly ISensorRecordConverter[] _converters = [.. converters];
    private readonly List<TelemetryEvent> _events = [];
    private long _unknown, _corrupt;

    /// <summary>Records read and converted so far.</summary>
    public long Records { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var warning in choice.Warnings)
            log.LogWarning("libbpf: {Warning}", warning);
        if (choice.Sensor is not null)
            Libbpf.RouteWarnings(warning => log.LogWarning("libbpf: {Warning}", warning));
        if (choice.Sensor is not { } sensor)
        {
            if (choice.State.Mode == AgentSensorMode.Fallback)
                log.LogWarning("The kernel sensor is not used, the fallback collectors are: {Reason}", choice.State.Reason);
            return Task.CompletedTask;
        }

        return Task.Factory.StartNew(() => Run(sensor, stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(KernelSensor sensor, CancellationToken stoppingToken)
    {
        // The table first, then the records (the kernel keeps them meanwhile): a process that starts in between is in
        // both, and its record, newer, wins.
        processes.Seed();
        sensor.Start();
        log.LogInformation("Kernel sensor running ({Programs}); {Processes} processes running", string.Join(", ", sensor.Programs), processes.Count);
        var lossesRead = Environment.TickCount64;
        var converted = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            sensor.Queue.WaitForRecords(200);
            // Records are taken in batches, one every BatchMilliseconds at most: a wake-up, a spool write and a delivery
            // signal per record cost more than converting it (the kernel's ring buffer and the queue hold them meanwhile).
            if (Environment.TickCount64 - converted is var since and < BatchMilliseconds)
                stoppingToken.WaitHandle.WaitOne((int)(BatchMilliseconds - since));
            converted = Environment.TickCount64;
            while (sensor.Queue.Read(BatchRecords, this, static (service, record) => service.Convert(record)) > 0)
                Flush();
            if (Environment.TickCount64 - lossesRead >= 1000)
            {
                lossesRead = Environment.TickCount64;
                ReportLosses(sensor);
            }

            Flush();
        }

        // Stopping: what the kernel delivered until now is still recorded.
        sensor.Stop();
        while (sensor.Queue.Read(BatchRecords, this, static (service, record) => service.Convert(record)) > 0)
            Flush();
        ReportLosses(sensor);
        Flush();
        sensor.Dispose();
    }

    private void Convert(ReadOnlySpan<byte> record)
    {
        Records++;
        if (record.Length < System.Runtime.CompilerServices.Unsafe.SizeOf<RecordHeader>())
        {
            _corrupt++;
            return;
        }

        ref readonly var header = ref RecordHeader.Of(record);
        foreach (var converter in _converters)
        {
            if (converter.TryConvert(header, record, _events))
                return;
        }

        if (_unknown++ == 0)
            log.LogWarning("The kernel sensor wrote a record of kind {Kind} that no part of the agent reads", header.Kind);
    }

    private void ReportLosses(KernelSensor sensor)
    {
        var (lost, first, last) = sensor.ReadLosses();
        if (lost == 0)
            return;
        choice.State.Lost(lost);
        log.LogWarning("The kernel sensor lost {Lost} events (its ring buffer was full); reported as a coverage gap", lost);
        _events.Add(new CoverageGapEvent
        {
            Id = EventId.New(),
            Time = KernelClock.FromBoottime(first),
            Until = KernelClock.FromBoottime(last),
            Reason = CoverageGapReason.SensorOverflow,
            LostEvents = lost,
        });
    }

    private void Flush()
    {
        if (_events.Count == 0)
            return;
        try
        {
            spool.Record(_events);
        }
        catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
        {
            log.LogError(failure, "{Count} events of the kernel sensor could not be spooled", _events.Count);
        }
        finally
        {
            _events.Clear();
        }
    }
}

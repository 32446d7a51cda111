using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent;
using Platform.Agent.Delivery;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Sensor;

/// <summary>
/// The kernel sensor loaded in the test process as the agent loads it (sensor.bpf.o beside the tests), its records
/// turned into events by the agent's <see cref="SensorService"/> and recorded in a real spool, read back here. It sees
/// every process on the machine (other tests' too): a test looks for its own markers. The test process itself is the
/// "agent" the kernel filters out, so the processes a test starts are seen, the test's own threads are not.
/// Loading must work: a kernel that refuses the sensor fails the test (the tests run as root on a kernel with BTF).
/// </summary>
public sealed class SensorHarness : IAsyncDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("sensor-").FullName;
    private readonly CancellationTokenSource _stop = new();
    private readonly Spool _spool;
    private readonly SensorService _service;
    private readonly Task _reader;

    public SensorHarness(long ringBufferBytes = 8L << 20)
    {
        var options = new AgentOptions { StateDirectory = _state, Sensor = { Mode = SensorMode.Ebpf, RingBufferBytes = ringBufferBytes } };
        Choice = SensorChoice.Choose(options);
        if (Choice.Sensor is null)
            throw new InvalidOperationException($"The kernel sensor did not load: {Choice.State.Reason}\n{string.Join("\n", Choice.Warnings)}");
        _spool = new Spool(Path.Combine(_state, "spool"), 1L << 30);
        Processes = new ProcessTable();
        _service = new SensorService(Choice, Processes, [new ProcessRecordConverter(Processes, new Platform.Agent.Collectors.UserNames(TimeProvider.System))], _spool, NullLogger<SensorService>.Instance);
        _service.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _reader = Task.Run(Read);
    }

    public SensorChoice Choice { get; }

    public ProcessTable Processes { get; }

    /// <summary>Everything spooled so far.</summary>
    public ConcurrentQueue<TelemetryEvent> Events { get; } = new();

    public IEnumerable<ProcessStartEvent> Starts => Events.OfType<ProcessStartEvent>();

    public IEnumerable<ProcessExitEvent> Exits => Events.OfType<ProcessExitEvent>();

    /// <summary>Waits until the sensor runs (its drain thread started and the process table seeded).</summary>
    public async Task<SensorHarness> Started()
    {
        await Agent.AgentTestSupport.Until(() => _service.Records > 0 || Processes.Count > 0, "the sensor to start");
        return this;
    }

    private async Task Read()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _spool.WaitForRecordsAsync(_spool.Telemetry, _stop.Token).WaitAsync(TimeSpan.FromMilliseconds(200), _stop.Token);
            }
            catch (TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
            }

            while (_spool.Telemetry.Take(5000, 64L << 20) is { } batch)
            {
                foreach (var record in batch.Records)
                    Events.Enqueue(JsonSerializer.Deserialize<TelemetryEvent>(record, Spool.Json)!);
                _spool.Telemetry.Acknowledge(batch);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        await _stop.CancelAsync();
        await _reader;
        _service.Dispose();
        _spool.Dispose();
        _stop.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}

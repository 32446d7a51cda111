using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent;
using Platform.Agent.Delivery;
using Platform.Agent.Sensor;
using Platform.Contracts;
using Platform.Tests.Agent;

namespace Platform.Tests.Sensor;

/// <summary>
/// The kernel sensor loaded for real, as the agent runs it (its records converted by the agent's converters and
/// recorded in a spool), for tests that start real processes and look for what they did. The test process is the
/// "agent" here: what it does itself is not recorded, so every test acts through processes it starts and looks only
/// at those (the sensor sees the whole machine). It fails, never skips, when the kernel refuses the sensor.
/// </summary>
public sealed class KernelSensorFixture : IAsyncLifetime
{
    private readonly string _state = Directory.CreateTempSubdirectory("sensor-").FullName;
    private readonly ConcurrentQueue<TelemetryEvent> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private SensorChoice? _choice;
    private SensorService? _service;
    private SensitiveFileService? _sensitive;
    private Spool? _spool;
    private Task? _pump;

    public SensorState State => _choice!.State;

    /// <summary>The kernel sensor loaded.</summary>
    public KernelSensor Kernel => _choice!.Sensor!;

    /// <summary>A directory whose <c>*.cfg</c> files are sensitive too (added to the defaults), for files made while the sensor runs.</summary>
    public string Later => Path.Combine(_state, "later");

    /// <summary>The protected files whose change attempts the kernel reports (Bpf/tamper.bpf.h), and the attempts.</summary>
    public TamperSensor Tamper { get; private set; } = null!;

    /// <summary>The service that keeps the kernel's sensitive-file maps (refreshed every second here).</summary>
    public SensitiveFileService Sensitive => _sensitive!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Later);
        var sensorOptions = new SensorOptions { Mode = SensorMode.Ebpf, SensitiveRefreshSeconds = 1 };
        sensorOptions.SensitivePaths = [.. sensorOptions.SensitivePaths, $"{Later}/*.cfg"];
        var options = new AgentOptions { StateDirectory = _state, Sensor = sensorOptions };
        _choice = SensorChoice.Choose(options);
        if (_choice.Sensor is null)
            throw new InvalidOperationException($"The kernel sensor did not load: {_choice.State.Reason}\n{string.Join('\n', _choice.Warnings.TakeLast(30))}");
        var processes = new ProcessTable();
        var files = new SensitiveFiles(options.Sensor.SensitivePaths, options.Sensor.NotSecretPaths);
        Tamper = new TamperSensor(_choice, NullLogger<TamperSensor>.Instance);
        ISensorRecordConverter[] converters =
        [
            new ProcessRecordConverter(processes, new Platform.Agent.Collectors.UserNames(TimeProvider.System)), new NetworkRecordConverter(processes, _choice.State), new FileRecordConverter(processes, files),
            new TamperRecordConverter(processes, Tamper),
        ];
        _spool = new Spool(Path.Combine(_state, "spool"), 256L << 20);
        _service = new SensorService(_choice, processes, converters, _spool, NullLogger<SensorService>.Instance);
        _sensitive = new SensitiveFileService(_choice, files, _choice.State, options, NullLogger<SensitiveFileService>.Instance);
        await _service.StartAsync(CancellationToken.None);
        await _sensitive.StartAsync(CancellationToken.None);
        _pump = Task.Run(Pump);
        await AgentTestSupport.Until(() => _choice.State.SensitiveFiles > 0, "the sensitive files in the kernel's map");
    }

    /// <summary>Moves what the spool holds into <see cref="_events"/> (the tests read from there, each for its own).</summary>
    private async Task Pump()
    {
        while (!_stop.IsCancellationRequested)
        {
            var took = false;
            while (_spool!.Telemetry.Take(1000, 4 << 20) is { } batch)
            {
                foreach (var record in batch.Records)
                    _events.Enqueue(JsonSerializer.Deserialize<TelemetryEvent>(record, Spool.Json)!);
                _spool.Telemetry.Acknowledge(batch);
                took = true;
            }

            if (!took)
                await Task.Delay(20);
        }
    }

    /// <summary>Waits for the first event of type <typeparamref name="T"/> that matches (for at most a minute).</summary>
    public async Task<T> WaitFor<T>(Func<T, bool> match, string what) where T : TelemetryEvent
    {
        T? found = null;
        await AgentTestSupport.Until(() => (found = Seen(match).FirstOrDefault()) is not null, what);
        return found!;
    }

    /// <summary>Every event of type <typeparamref name="T"/> that matches, seen so far.</summary>
    public List<T> Seen<T>(Func<T, bool> match) where T : TelemetryEvent => _events.OfType<T>().Where(match).ToList();

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null)
            await _pump;
        if (_sensitive is not null)
            await _sensitive.StopAsync(CancellationToken.None);
        if (_service is not null)
            await _service.StopAsync(CancellationToken.None);
        _choice?.Sensor?.Dispose();
        _spool?.Dispose();
        Directory.Delete(_state, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class KernelSensorCollection : ICollectionFixture<KernelSensorFixture>
{
    public const string Name = "kernel sensor";
}

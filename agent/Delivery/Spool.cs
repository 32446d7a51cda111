using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Contracts;

namespace Platform.Agent.Delivery;

/// <summary>
/// Everything the agent has to deliver, on disk before it is sent: telemetry and FIM alerts, each a
/// <see cref="SpoolQueue"/>, sharing a byte budget. Past the budget the oldest telemetry goes (counted, and a gap
/// in the batch sequence so the api shows the hole); FIM alerts are never dropped, even past the budget.
/// </summary>
public sealed class Spool : IDisposable
{
    private readonly long _maxBytes;
    private readonly SemaphoreSlim _telemetryRecorded = new(0, 1), _alertsRecorded = new(0, 1);

    public Spool(string directory, long maxBytes)
    {
        _maxBytes = maxBytes;
        // Telemetry is dropped a segment at a time: segments small beside the budget keep a drop small.
        var limits = new SpoolLimits { SegmentBytes = Math.Clamp(maxBytes / 16, 16 * 1024, 1 << 20) };
        Telemetry = new SpoolQueue(Path.Combine(directory, "telemetry"), "t", limits);
        Alerts = new SpoolQueue(Path.Combine(directory, "fim-alerts"), "f", limits);
    }

    public SpoolQueue Telemetry { get; }

    public SpoolQueue Alerts { get; }

    /// <summary>How records are written: the contract's JSON (enums as the spec's strings).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowOutOfOrderMetadataProperties = true,
    };

    public void Record(IReadOnlyList<TelemetryEvent> events)
    {
        Telemetry.Append(events.Select(e => (ReadOnlyMemory<byte>)JsonSerializer.SerializeToUtf8Bytes(e, Json)).ToList());
        KeepWithinBudget();
        Signal(_telemetryRecorded);
    }

    public void Record(IReadOnlyList<FimAlertReport> alerts)
    {
        Alerts.Append(alerts.Select(a => (ReadOnlyMemory<byte>)JsonSerializer.SerializeToUtf8Bytes(a, Json)).ToList());
        KeepWithinBudget();
        Signal(_alertsRecorded);
    }

    /// <summary>Returns when something was recorded in the queue since the last call (or at once if it was).</summary>
    public Task WaitForRecordsAsync(SpoolQueue queue, CancellationToken cancellationToken) =>
        (queue == Telemetry ? _telemetryRecorded : _alertsRecorded).WaitAsync(cancellationToken);

    private void KeepWithinBudget()
    {
        while (Telemetry.PendingBytes() + Alerts.PendingBytes() > _maxBytes && Telemetry.DropOldest())
        {
        }
    }

    private static void Signal(SemaphoreSlim recorded)
    {
        try
        {
            if (recorded.CurrentCount == 0)
                recorded.Release();
        }
        catch (SemaphoreFullException)
        {
            // Signalled by another thread meanwhile: one signal is enough.
        }
    }

    /// <summary>Flushes both queues to the disk.</summary>
    public void Sync()
    {
        Telemetry.Sync();
        Alerts.Sync();
    }

    public void Dispose()
    {
        Telemetry.Dispose();
        Alerts.Dispose();
    }
}

using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Agent.Delivery;

/// <summary>
/// Everything the agent has to deliver, on disk before it is sent: telemetry and FIM alerts, each a
/// <see cref="SpoolQueue"/>, sharing a byte budget. Past the budget the oldest telemetry goes (counted, and a gap
/// in the batch sequence so the api shows the hole); FIM alerts are never dropped, even past the budget.
/// </summary>
public sealed class Spool : IDisposable
{
    private readonly long _maxBytes;
    private readonly SecretRedactor _redactor;
    private readonly SemaphoreSlim _telemetryRecorded = new(0, 1), _alertsRecorded = new(0, 1);
    private const int RetainedJsonBytes = 1 << 20;
    private readonly Lock _writing = new();
    private ArrayBufferWriter<byte> _json = new();
    private readonly List<int> _lengths = [];

    /// <param name="redactor">Secrets in what is recorded are redacted before it reaches the disk (the built-in rules if null).</param>
    public Spool(string directory, long maxBytes, SecretRedactor? redactor = null)
    {
        _maxBytes = maxBytes;
        _redactor = redactor ?? SecretRedactor.Default;
        // Telemetry is dropped a segment at a time: segments small beside the budget keep a drop small.
        var limits = new SpoolLimits { SegmentBytes = Math.Clamp(maxBytes / 16, 16 * 1024, 1 << 20) };
        Telemetry = new SpoolQueue(Path.Combine(directory, "telemetry"), "t", limits);
        Alerts = new SpoolQueue(Path.Combine(directory, "fim-alerts"), "f", limits);
    }

    public SpoolQueue Telemetry { get; }

    public SpoolQueue Alerts { get; }

    /// <summary>How records are written: the contract's JSON (enums as the spec's strings).</summary>
    public static JsonSerializerOptions Json { get; } = CreateJson();

    private static JsonSerializerOptions CreateJson()
    {
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            AllowOutOfOrderMetadataProperties = true,
        };
        PlatformJsonContext.Configure(json);
        return json;
    }

    public void Record(IReadOnlyList<TelemetryEvent> events)
    {
        foreach (var e in events)
            Redact(e);
        lock (_writing)
        {
            // Every event's JSON into one reused buffer, written as the serializer would (less its metadata-driven path).
            _json.ResetWrittenCount();
            _lengths.Clear();
            using (var writer = new Utf8JsonWriter(_json, new JsonWriterOptions { Encoder = Json.Encoder, SkipValidation = true }))
            {
                foreach (var e in events)
                {
                    TelemetryEventWriter.Write(writer, e, Json);
                    writer.Flush();
                    _lengths.Add((int)writer.BytesCommitted);
                    writer.Reset(_json); // the next event is a document of its own
                }
            }

            Telemetry.Append(_json.WrittenSpan, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_lengths));
            if (_json.Capacity > RetainedJsonBytes)
                _json = new ArrayBufferWriter<byte>(); // not kept at the size of a rare large write
        }

        KeepWithinBudget();
        Signal(_telemetryRecorded);
    }

    public void Record(IReadOnlyList<FimAlertReport> alerts)
    {
        foreach (var alert in alerts)
            _redactor.Redact(alert.Process);

        Alerts.Append(alerts.Select(a => (ReadOnlyMemory<byte>)JsonSerializer.SerializeToUtf8Bytes(a, Json.TypeInfo<FimAlertReport>())).ToList());
        KeepWithinBudget();
        Signal(_alertsRecorded);
    }

    /// <summary>
    /// Replaces secrets in the event's free text (arguments as one command line; executable, working directory,
    /// names and paths each on its own) and says why in <see cref="TelemetryEvent.Redacted"/>.
    /// </summary>
    private void Redact(TelemetryEvent e)
    {
        ulong mask = 0;
        e.ProcessName = One(e.ProcessName, 256);
        if (e.Container is { } container)
            (container.Name, container.Image) = (One(container.Name, 256), One(container.Image, 512));
        switch (e)
        {
            case ProcessStartEvent start:
                if (start.Args is { Count: > 0 } args)
                {
                    var copy = args.ToList();
                    if (_redactor.Redact(copy) is var found and not 0)
                        (start.Args, mask) = (copy.Select(a => Fit(a, 4096)).ToList(), mask | found);
                }

                (start.Executable, start.Cwd, start.ParentProcessName) = (One(start.Executable, 4096)!, One(start.Cwd, 4096), One(start.ParentProcessName, 256));
                break;
            case FileAccessEvent file:
                (file.Path, file.NewPath) = (One(file.Path, 4096)!, One(file.NewPath, 4096));
                break;
        }

        if (mask != 0)
            e.Redacted = [.. (e.Redacted ?? []).Union(_redactor.ReasonNames(mask))];

        string? One(string? text, int max)
        {
            if (_redactor.Redact(text, out var found) is not { } redacted)
                return text;
            mask |= found;
            return Fit(redacted, max);
        }
    }

    /// <summary>The marker may be longer than the secret it replaced: kept within the field's limit (openapi.yaml).</summary>
    private static string Fit(string text, int max) =>
        text.Length <= max ? text : text[..(char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)];

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

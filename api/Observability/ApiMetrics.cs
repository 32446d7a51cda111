using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Platform.Api.Storage;

namespace Platform.Api.Observability;

/// <summary>
/// The api's own instruments (meter and activity source <c>Platform.Api</c>), one place for every name, unit and label
/// (each listed in docs/observability.md). Call sites say what happened; labels come from small fixed sets (kind,
/// store, status, outcome, queue): never an agent id, a path or a token, so a series count does not grow with the fleet.
/// </summary>
public sealed class ApiMetrics
{
    public const string Name = "Platform.Api";

    /// <summary>Flight data (pushTelemetry) and FIM alerts (pushFimAlerts): the two ingest paths, as label values.</summary>
    public const string FlightData = "flight_data", FimAlerts = "fim_alert";

    /// <summary>Spans of the api's own work (an ingest), under the request's span. Static: a source is per process, and listeners filter by name.</summary>
    public static readonly ActivitySource Traces = new(Name);

    private readonly Counter<long> _ingested;
    private readonly Counter<long> _refused;
    private readonly Histogram<double> _detectionLag;
    private readonly Counter<long> _webhookAttempts;
    private readonly Counter<long> _bundleBytes;
    private readonly KeyValuePair<string, object?> _store;
    private readonly TimeProvider _time;

    // The in-memory queues are read only when a reader collects (a scrape, an OTLP export): resolved then, so that the
    // features' services need not know about metrics, nor metrics be built before them.
    public ApiMetrics(IMeterFactory meters, IOptions<StorageOptions> storage, IServiceProvider services, TimeProvider time)
    {
        var meter = meters.Create(Name);
        _time = time;
        _store = new("store", storage.Value.Provider == StorageProvider.Postgres ? "postgres" : "sqlite");
        _ingested = meter.CreateCounter<long>("platform.events.ingested", "{event}", "Events (flight data) and alerts (FIM) committed by ingest, replays not counted.");
        _refused = meter.CreateCounter<long>("platform.batches.refused", "{batch}", "Ingest requests answered with a 4xx status (429 included): the batch was not taken.");
        _detectionLag = meter.CreateHistogram("platform.detection.lag", "s", "From an event's own time to its finding or alert being stored.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
        _webhookAttempts = meter.CreateCounter<long>("platform.webhook.deliveries", "{attempt}", "Webhook delivery attempts, by what became of the delivery.");
        _bundleBytes = meter.CreateCounter<long>("platform.bundle.sent", "By", "Bytes of forensic bundles (zip) sent to clients, ranges included.");
        meter.CreateObservableGauge("platform.queue.depth", () => QueueDepths(services), "{item}", "Items waiting in the api's in-memory queues.");
    }

    private static IEnumerable<Measurement<int>> QueueDepths(IServiceProvider services)
    {
        // Not the database's queues (detection_queue, the webhook outbox): a query per collection is not what a gauge should cost.
        yield return new(services.GetRequiredService<Telemetry.TelemetryStore>().WaitingBatches, new KeyValuePair<string, object?>("queue", "ingest_writes"));
        yield return new(services.GetRequiredService<Incidents.DetectionHandoff>().Held, new KeyValuePair<string, object?>("queue", "detection_handoff"));
        yield return new(services.GetRequiredService<Forensics.BundleBuilds>().Queued, new KeyValuePair<string, object?>("queue", "bundle_builds"));
    }

    /// <summary>The span of one ingest (a batch checked, stored, handed to detection), or null when nobody listens.</summary>
    public static Activity? StartIngest(string kind)
    {
        var activity = Traces.StartActivity("ingest " + kind);
        activity?.SetTag("platform.ingest.kind", kind);
        return activity;
    }

    /// <summary>A batch committed: <paramref name="stored"/> new items (0 for a replay); its outcome on the ingest span.</summary>
    public void Ingested(string kind, int received, int stored, string outcome)
    {
        if (stored > 0)
            _ingested.Add(stored, new KeyValuePair<string, object?>("kind", kind), _store);
        if (Activity.Current is { } activity && activity.Source == Traces)
        {
            activity.SetTag("platform.ingest.received", received);
            activity.SetTag("platform.ingest.outcome", outcome.ToLowerInvariant());
        }
    }

    public void Refused(string kind, int status) =>
        _refused.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("status", status));

    /// <summary>Findings (from flight data) or alerts (FIM) now stored: how long after their events happened.</summary>
    public void Detected(string kind, IEnumerable<DateTimeOffset> eventTimes)
    {
        if (!_detectionLag.Enabled)
            return;
        var now = _time.GetUtcNow();
        var label = new KeyValuePair<string, object?>("kind", kind);
        foreach (var time in eventTimes)
            _detectionLag.Record(Math.Max(0, (now - time).TotalSeconds), label);
    }

    /// <summary>An attempt recorded; <paramref name="status"/> is the delivery's afterwards: delivered, failed (given up), or still pending (to be retried).</summary>
    public void WebhookAttempt(string status) =>
        _webhookAttempts.Add(1, new KeyValuePair<string, object?>("outcome", status switch { "delivered" => "delivered", "failed" => "failed", _ => "retrying" }));

    /// <summary>Counts the bundle's bytes once the response is sent: what Content-Length says (the whole file or the range).</summary>
    public void BundleSending(HttpContext http)
    {
        if (_bundleBytes.Enabled)
            http.Response.OnCompleted(() =>
            {
                if (http.Response.StatusCode is 200 or 206 && http.Response.ContentLength is { } bytes && !http.RequestAborted.IsCancellationRequested)
                    _bundleBytes.Add(bytes);
                return Task.CompletedTask;
            });
    }
}

using System.Diagnostics.Metrics;
using Platform.Agent.Delivery;

namespace Platform.Agent.Observability;

/// <summary>
/// The agent's instruments (meter <c>Platform.Agent</c>, docs/observability.md): what the spool holds and has lost,
/// read from the spool when a reader collects; what was captured, sent and could not be delivered. Labels from fixed
/// sets (queue, reason): one agent's series are a handful, whatever it sees.
/// </summary>
public sealed class AgentMetrics
{
    public const string Name = "Platform.Agent";

    private static readonly KeyValuePair<string, object?> TelemetryQueue = new("queue", "telemetry"), AlertsQueue = new("queue", "fim_alerts");

    private readonly Spool _spool;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _failures;

    public AgentMetrics(IMeterFactory meters, Spool spool)
    {
        _spool = spool;
        var meter = meters.Create(Name);
        meter.CreateObservableGauge("platform.agent.spool.depth", () => Each(counts => counts.Records), "{record}", "Records spooled and not yet acknowledged by the api.");
        meter.CreateObservableGauge("platform.agent.spool.size", () => Each(counts => counts.Bytes), "By", "Spool bytes on disk not yet acknowledged.");
        meter.CreateObservableCounter("platform.agent.spool.dropped", () => Each(counts => counts.DroppedRecords), "{record}",
            "Telemetry records given up because the spool was full (kept across restarts; reported to the api as coverage gaps).");
        meter.CreateObservableCounter("platform.agent.records.captured", () => new Measurement<long>[]
        {
            new(spool.Telemetry.Appended, TelemetryQueue), new(spool.Alerts.Appended, AlertsQueue),
        }, "{record}", "Events and FIM alerts recorded into the spool since the agent started.");
        _sent = meter.CreateCounter<long>("platform.agent.records.sent", "{record}", "Records the api acknowledged (stored, or refused and set aside).");
        _failures = meter.CreateCounter<long>("platform.agent.delivery.failures", "{attempt}",
            "Deliveries that failed: unreachable (the api down, unwell, busy; tried again) or refused (4xx; the batch set aside).");
    }

    private Measurement<long>[] Each(Func<SpoolCounts, long> value) =>
        [new(value(_spool.Telemetry.Counts), TelemetryQueue), new(value(_spool.Alerts.Counts), AlertsQueue)];

    private KeyValuePair<string, object?> QueueOf(SpoolQueue queue) => queue == _spool.Telemetry ? TelemetryQueue : AlertsQueue;

    public void Sent(SpoolQueue queue, int records) => _sent.Add(records, QueueOf(queue));

    public void Unreachable() => _failures.Add(1, new KeyValuePair<string, object?>("reason", "unreachable"));

    public void Refused() => _failures.Add(1, new KeyValuePair<string, object?>("reason", "refused"));
}

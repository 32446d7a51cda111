using BenchmarkDotNet.Attributes;
using Platform.Api.Incidents;
using Platform.Api.Telemetry;

namespace Platform.Bench.Micro;

/// <summary>
/// Detection's own cost on one thread, without HTTP or a database, per event: batches as the handoff gives them
/// (events as written, with where each field is) and as read back from storage (inflated and parsed). Reading the
/// events alone (passed over) is the baseline; the rules come on top of it.
/// </summary>
[MemoryDiagnoser]
public class DetectionBenchmarks
{
    private const int Batches = 64, BatchSize = 500;

    /// <summary>true: batches handed over at ingest; false: read back from storage.</summary>
    [Params(true, false)]
    public bool HandedOver { get; set; }

    private readonly List<List<Segment>> _batches = [];
    private readonly DetectionSettings _rules = new(new DetectionOptions());
    private readonly DetectionEvent.Cursor _cursor = new(new DetectionEvent.Names());
    private readonly List<Finding> _findings = [];

    [GlobalSetup]
    public void Setup()
    {
        var start = DateTimeOffset.UtcNow.AddHours(-2);
        var templates = Enumerable.Range(0, 8).Select(t => TelemetryBenchmarks.Events(t, BatchSize)).ToList();
        for (var b = 0; b < Batches; b++)
            _batches.Add(Segments.Build(IncidentBenchmarks.AtSecond(templates[b % 8], start, b), "node-0", keepText: HandedOver));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var batch in _batches)
            Segments.Release(batch);
        _batches.Clear();
    }

    /// <summary>Opening each batch (inflating it, when read back) and reading its events, passed over.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batches * BatchSize)]
    public int ReadEvents()
    {
        var events = 0;
        foreach (var batch in _batches)
        {
            for (_cursor.Start(Open(batch)); _cursor.Next() is not null;)
                events++;
        }

        return events;
    }

    /// <summary>The same, read by the rules (an agent's detection state from the first batch on).</summary>
    [Benchmark(OperationsPerInvoke = Batches * BatchSize)]
    public int ReadEventsWithRules()
    {
        var detection = new AgentDetection(_rules);
        _findings.Clear();
        foreach (var batch in _batches)
            detection.Observe(_cursor.Start(Open(batch)), _findings, DateTimeOffset.UtcNow);
        return _findings.Count;
    }

    private List<SegmentContent> Open(List<Segment> batch) => batch.Select(s => HandedOver ? s.Text! : s.Open()).ToList();
}

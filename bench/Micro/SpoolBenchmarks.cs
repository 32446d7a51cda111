using BenchmarkDotNet.Attributes;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Bench.Micro;

/// <summary>
/// The agent's disk spool, per event: recording as a collector does (contract objects, serialised, framed and
/// checksummed, 100 at a time, fsync at the end), and taking back as the delivery loop does (batches of 500, read,
/// checked, acknowledged, segments deleted). One invocation is <see cref="Events"/> events (the spool is on disk: an
/// iteration leaves it empty for the next).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class SpoolBenchmarks
{
    private const int Events = 50_000;

    private string _directory = "";
    private Spool _spool = null!;
    private List<List<TelemetryEvent>> _chunks = [];

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("bench-spool-").FullName;
        _spool = new Spool(_directory, 4L << 30);
        var start = DateTimeOffset.UtcNow;
        _chunks = Enumerable.Range(0, 10).Select(c => Enumerable.Range(0, 100).Select(i => AgentBenchmarks.Event(c * 100 + i, start)).ToList()).ToList();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _spool.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public void Record() => Fill();

    [IterationCleanup(Target = nameof(Record))]
    public void Empty() => Drain();

    [IterationSetup(Target = nameof(TakeAndAcknowledge))]
    public void Fill()
    {
        for (var chunk = 0; chunk < Events / 100; chunk++)
            _spool.Record(_chunks[chunk % 10]);
        _spool.Sync();
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public long TakeAndAcknowledge()
    {
        var taken = Drain();
        return taken == Events ? taken : throw new InvalidOperationException($"the spool gave back {taken} events of {Events}");
    }

    private long Drain()
    {
        long taken = 0;
        while (_spool.Telemetry.Take(500, 768 * 1024) is { } batch)
        {
            taken += batch.Records.Count;
            _spool.Telemetry.Acknowledge(batch);
        }

        return taken;
    }
}

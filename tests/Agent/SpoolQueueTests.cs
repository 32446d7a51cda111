using CsCheck;
using Platform.Agent.Delivery;

namespace Platform.Tests.Agent;

public sealed class SpoolQueueTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("spool-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly SpoolLimits Small = new() { SegmentBytes = 4096, MaxRecordBytes = 8192 };

    private abstract record Step;
    private sealed record Append(int Count, int Size) : Step;
    private sealed record Take(int Max) : Step;
    private sealed record Acknowledge : Step;
    private sealed record Reopen : Step;

    private static readonly Gen<Step> Steps = Gen.Frequency(
        (4, Gen.Select(Gen.Int[1, 12], Gen.Int[0, 1500], (count, size) => (Step)new Append(count, size))),
        (3, Gen.Int[1, 20].Select(max => (Step)new Take(max))),
        (3, Gen.Const((Step)new Acknowledge())),
        (1, Gen.Const((Step)new Reopen())));

    /// <summary>
    /// Model-based: any sequence of appends, takes, acknowledgements and restarts gives what a plain queue gives.
    /// A batch taken again before it is acknowledged (after a restart too) is the same batch: same id, sequence and
    /// records. Sequence numbers go up by one per acknowledged batch. Nothing is lost, nothing comes twice once
    /// acknowledged.
    /// </summary>
    [Fact]
    public void Behaves_as_a_plain_queue_across_takes_acknowledgements_and_restarts()
    {
        Steps.Array[1, 60].Sample(steps =>
        {
            var directory = Path.Combine(_root, Guid.NewGuid().ToString("N"));
            var spool = new SpoolQueue(directory, "t", Small);
            var model = new Queue<byte[]>();
            SpoolBatch? inFlight = null;
            long nextSequence = 1, made = 0;
            try
            {
                foreach (var step in steps)
                {
                    switch (step)
                    {
                        case Append(var count, var size):
                            var records = Enumerable.Range(0, count).Select(_ => Record(made++, size)).ToList();
                            spool.Append(records.Select(r => (ReadOnlyMemory<byte>)r).ToList());
                            records.ForEach(model.Enqueue);
                            break;
                        case Take(var max):
                            var batch = spool.Take(max, long.MaxValue);
                            if (inFlight is not null)
                            {
                                Assert.NotNull(batch);
                                Assert.Equal((inFlight.Id, inFlight.Sequence), (batch.Id, batch.Sequence));
                                Assert.Equal(inFlight.Records, batch.Records);
                            }
                            else if (model.Count == 0)
                            {
                                Assert.Null(batch);
                            }
                            else
                            {
                                Assert.NotNull(batch);
                                Assert.Equal(nextSequence, batch.Sequence);
                                Assert.Equal(model.Take(Math.Min(max, model.Count)).ToList(), batch.Records);
                                inFlight = batch;
                            }

                            break;
                        case Acknowledge when inFlight is not null:
                            spool.Acknowledge(inFlight);
                            for (var i = 0; i < inFlight.Records.Count; i++)
                                model.Dequeue();
                            nextSequence = inFlight.Sequence + 1;
                            inFlight = null;
                            break;
                        case Reopen:
                            spool.Dispose();
                            spool = new SpoolQueue(directory, "t", Small);
                            break;
                    }

                    Assert.Equal(model.Count, spool.Counts.Records);
                }

                // Drained, it holds exactly the model's records, in order.
                if (inFlight is not null)
                {
                    spool.Acknowledge(spool.Take(1, long.MaxValue)!);
                    for (var i = 0; i < inFlight.Records.Count; i++)
                        model.Dequeue();
                }

                var rest = new List<byte[]>();
                while (spool.Take(7, long.MaxValue) is { } batch)
                {
                    rest.AddRange(batch.Records);
                    spool.Acknowledge(batch);
                }

                Assert.Equal(model.ToList(), rest);
                Assert.Equal(0, spool.Counts.Records);
                Assert.Empty(Directory.GetFiles(directory, "*.seg").Where(f => new FileInfo(f).Length > 0).Skip(1));
            }
            finally
            {
                spool.Dispose();
            }
        }, iter: 150, threads: 1);
    }

    [Fact]
    public void Dropping_the_oldest_segment_counts_the_records_and_leaves_a_gap_in_the_sequence()
    {
        using var spool = new SpoolQueue(_root, "t", Small);
        var records = Enumerable.Range(0, 40).Select(i => Record(i, 500)).ToList(); // ~8 records a 4 KiB segment
        spool.Append(records.Select(r => (ReadOnlyMemory<byte>)r).ToList());

        var first = spool.Take(3, long.MaxValue)!;
        Assert.Equal(1, first.Sequence);
        Assert.True(spool.DropOldest()); // not the segment the batch in flight is in: the next one
        var dropped = spool.Counts.DroppedRecords;
        Assert.InRange(dropped, 1, 10);
        spool.Acknowledge(first);

        var rest = new List<byte[]>();
        var sequences = new List<long>();
        while (spool.Take(5, long.MaxValue) is { } batch)
        {
            rest.AddRange(batch.Records);
            sequences.Add(batch.Sequence);
            spool.Acknowledge(batch);
        }

        Assert.Equal(3, sequences[0]); // 2 is the gap: the api records it, with the times around it
        Assert.Equal(Enumerable.Range(3, sequences.Count), sequences.Select(s => (int)s));
        Assert.Equal(40 - 3 - dropped, rest.Count);
        Assert.Equal((int)dropped, records.Skip(3).Select(Convert.ToHexString).Except(rest.Select(Convert.ToHexString)).Count());
        Assert.Equal(0, spool.Counts.Records);
    }

    [Fact]
    public void A_corrupt_record_is_quarantined_and_counted_and_the_queue_goes_on()
    {
        var records = Enumerable.Range(0, 40).Select(i => Record(i, 500)).ToList();
        using (var spool = new SpoolQueue(_root, "t", Small))
            spool.Append(records.Select(r => (ReadOnlyMemory<byte>)r).ToList());

        // Flip a byte in the middle of the second segment.
        var second = Directory.GetFiles(_root, "*.seg").Order().ElementAt(1);
        var bytes = File.ReadAllBytes(second);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(second, bytes);

        using var reopened = new SpoolQueue(_root, "t", Small);
        var read = new List<byte[]>();
        while (reopened.Take(6, long.MaxValue) is { } batch)
        {
            read.AddRange(batch.Records);
            reopened.Acknowledge(batch);
        }

        var counts = reopened.Counts;
        Assert.Equal(1, counts.QuarantinedRegions);
        Assert.True(counts.QuarantinedBytes > 0);
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "quarantine")));
        Assert.All(read, r => Assert.Contains(r, records)); // nothing corrupt is sent
        Assert.Equal(records.Take(8), read.Take(8)); // the first segment is whole
        Assert.Equal(records[^1], read[^1]); // and reading went on past the bad one
        Assert.InRange(read.Count, 30, 39);

        // Appending after it works.
        reopened.Append(Record(99, 10));
        Assert.Equal(Record(99, 10), reopened.Take(5, long.MaxValue)!.Records.Single());
    }

    [Fact]
    public void A_torn_last_record_after_a_crash_is_cut_off_and_the_rest_is_kept()
    {
        var records = Enumerable.Range(0, 5).Select(i => Record(i, 100)).ToList();
        using (var spool = new SpoolQueue(_root, "t", Small))
            spool.Append(records.Select(r => (ReadOnlyMemory<byte>)r).ToList());
        var tail = Directory.GetFiles(_root, "*.seg").Order().Last();
        using (var file = new FileStream(tail, FileMode.Open))
            file.SetLength(file.Length - 30);

        using var reopened = new SpoolQueue(_root, "t", Small);
        Assert.Equal(records.Take(4), reopened.Take(10, long.MaxValue)!.Records);
        Assert.Equal(1, reopened.Counts.QuarantinedRegions);
    }

    [Fact]
    public void A_record_larger_than_the_limit_is_refused()
    {
        using var spool = new SpoolQueue(_root, "t", Small);
        Assert.Throws<ArgumentException>(() => spool.Append(new byte[Small.MaxRecordBytes + 1]));
        Assert.Equal(0, spool.Counts.Records);
    }

    private static byte[] Record(long n, int size)
    {
        var bytes = new byte[size + 8];
        BitConverter.TryWriteBytes(bytes, n);
        new Random((int)n).NextBytes(bytes.AsSpan(8));
        return bytes;
    }
}

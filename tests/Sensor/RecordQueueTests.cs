using System.Buffers.Binary;
using Platform.Agent.Sensor;

namespace Platform.Tests.Sensor;

/// <summary>The queue between the thread that drains the kernel's ring buffer and the one that converts: nothing allocated per record, nothing lost or reordered across the array's end.</summary>
public sealed class RecordQueueTests
{
    [Fact]
    public void Writing_records_allocates_nothing()
    {
        using var queue = new RecordQueue(1 << 20);
        var stopping = false;
        Span<byte> record = stackalloc byte[300];
        ReadRecord<int> ignore = static (_, _) => { };
        queue.Write(record, ref stopping); // the first write may touch what is allocated once (the event)
        queue.Read(int.MaxValue, 0, ignore);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record, i);
            Assert.True(queue.Write(record[..(64 + (i % 200))], ref stopping));
            if (i % 1000 == 999)
                queue.Read(int.MaxValue, 0, ignore);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task A_writer_and_a_reader_on_two_threads_pass_every_record_in_order_through_a_small_queue()
    {
        using var queue = new RecordQueue(4096); // wraps every few records; the writer waits for room
        const int Count = 200_000;
        var stopping = false;
        var writer = Task.Run(() =>
        {
            var record = new byte[1024];
            for (var i = 0; i < Count; i++)
            {
                var length = 8 + (i * 7 % 900);
                BinaryPrimitives.WriteInt32LittleEndian(record, i);
                record[length - 1] = (byte)i;
                Assert.True(queue.Write(record.AsSpan(0, length), ref stopping));
            }
        });

        var state = new ReadState();
        while (state.Next < Count)
        {
            queue.WaitForRecords(100);
            queue.Read(64, state, static (s, record) =>
            {
                var i = BinaryPrimitives.ReadInt32LittleEndian(record);
                if (i != s.Next || record.Length != 8 + (i * 7 % 900) || record[^1] != (byte)i)
                    s.Wrong++;
                s.Next = i + 1;
            });
        }

        await writer;
        Assert.Equal((Count, 0), (state.Next, state.Wrong));
    }

    [Fact]
    public void Its_memory_follows_what_it_holds_not_its_capacity()
    {
        using var queue = new RecordQueue(16 << 20);
        var stopping = false;
        var record = new byte[200];
        ReadRecord<int> ignore = static (_, _) => { };

        // Kept up with: the writer goes on in the chunks the reader gave back, however much passes through.
        for (var i = 0; i < 200_000; i++)
        {
            Assert.True(queue.Write(record, ref stopping));
            if (i % 100 == 99)
                queue.Read(int.MaxValue, 0, ignore);
        }

        Assert.InRange(queue.ResidentBytes, 1, 3 * 128 * 1024);

        // A backlog of 8 MiB is held, and once it is read only the spare chunks stay.
        for (var i = 0; i < (8 << 20) / 208; i++)
            Assert.True(queue.Write(record, ref stopping));
        Assert.InRange(queue.ResidentBytes, 8 << 20, (8 << 20) + (3 * 128 * 1024));
        while (queue.Read(10_000, 0, ignore) > 0)
        {
        }

        Assert.InRange(queue.ResidentBytes, 1, 3 * 128 * 1024);
    }

    [Fact]
    public void A_full_queue_holds_its_capacity_and_takes_records_again_once_read()
    {
        using var queue = new RecordQueue(1 << 20);
        var stopping = true; // a full queue returns at once
        var record = new byte[1000];
        var written = 0;
        while (queue.Write(record, ref stopping))
            written++;
        Assert.InRange(written * 1008L, (1 << 20) - (128 * 1024), 1 << 20); // all of it but at most a chunk
        var read = 0;
        ReadRecord<int> count = (_, r) => { Assert.Equal(1000, r.Length); read++; };
        queue.Read(int.MaxValue, 0, count);
        Assert.Equal(written, read);
        Assert.True(queue.Write(record, ref stopping));
    }

    private sealed class ReadState
    {
        public int Next;
        public int Wrong;
    }
}

using System.Buffers.Binary;
using Platform.Agent.Sensor;

namespace Platform.Tests.Sensor;

/// <summary>The queue between the thread that drains the kernel's ring buffer and the one that converts: nothing allocated per record, nothing lost or reordered across the array's end.</summary>
public sealed class RecordQueueTests
{
    [Fact]
    public void Writing_records_allocates_nothing()
    {
        var queue = new RecordQueue(1 << 20);
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
        var queue = new RecordQueue(4096); // wraps every few records; the writer waits for room
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

    private sealed class ReadState
    {
        public int Next;
        public int Wrong;
    }
}

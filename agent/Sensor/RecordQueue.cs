using System.Buffers.Binary;

namespace Platform.Agent.Sensor;

/// <summary>
/// Raw records between the thread that drains the kernel's ring buffer and the one that turns them into events: one
/// writer, one reader, a byte array allocated once. Each record is copied in as it is (a length, then its bytes,
/// 8-byte aligned), so draining allocates nothing however many records come. When the reader falls behind and the
/// queue is full, the writer waits (the kernel's ring buffer then fills, and what it cannot take is counted there as lost).
/// </summary>
public sealed class RecordQueue(int capacity)
{
    private const int Wrap = -1;
    private readonly byte[] _buffer = capacity >= 4096 && (capacity & (capacity - 1)) == 0
        ? new byte[capacity] : throw new ArgumentOutOfRangeException(nameof(capacity), "a power of two, at least 4096");
    private readonly ManualResetEventSlim _written = new(false), _read = new(false);
    private long _head, _tail; // bytes written and read so far (positions are modulo the capacity)

    /// <summary>Records too large for the queue (none: a record is below 64 KiB, the queue at least that).</summary>
    public long Oversized { get; private set; }

    /// <summary>Copies a record in, waiting for room while <paramref name="stopping"/> is false. False when it was not copied.</summary>
    public bool Write(ReadOnlySpan<byte> record, ref bool stopping)
    {
        var need = Align(4 + record.Length);
        if (need > _buffer.Length / 2)
        {
            Oversized++;
            return false;
        }

        while (true)
        {
            var head = _head;
            var tail = Volatile.Read(ref _tail);
            var at = (int)(head & (_buffer.Length - 1));
            var toEnd = _buffer.Length - at;
            var total = need <= toEnd ? need : toEnd + need; // a record does not wrap: the rest of the array is skipped
            if (_buffer.Length - (head - tail) >= total)
            {
                if (need > toEnd)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(at), Wrap);
                    at = 0;
                }

                BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(at), record.Length);
                record.CopyTo(_buffer.AsSpan(at + 4));
                Volatile.Write(ref _head, head + total);
                _written.Set();
                return true;
            }

            if (Volatile.Read(ref stopping))
                return false;
            _read.Reset();
            if (Volatile.Read(ref _tail) == tail)
                _read.Wait(100);
        }
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for records to read (at once when there are some).</summary>
    public void WaitForRecords(int milliseconds)
    {
        _written.Reset();
        if (Volatile.Read(ref _head) == _tail)
            _written.Wait(milliseconds);
    }

    /// <summary>Hands each record written so far (at most <paramref name="max"/>) to <paramref name="read"/>, in order, then frees their room. Returns how many.</summary>
    public int Read<TState>(int max, TState state, ReadRecord<TState> read)
    {
        var head = Volatile.Read(ref _head);
        var tail = _tail;
        var count = 0;
        while (tail < head && count < max)
        {
            var at = (int)(tail & (_buffer.Length - 1));
            var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(at));
            if (length == Wrap)
            {
                tail += _buffer.Length - at;
                continue;
            }

            read(state, _buffer.AsSpan(at + 4, length));
            tail += Align(4 + length);
            count++;
        }

        Volatile.Write(ref _tail, tail);
        _read.Set();
        return count;
    }

    private static int Align(int length) => (length + 7) & ~7;
}

/// <summary>Reads one record, in place (the bytes are valid during the call only).</summary>
public delegate void ReadRecord<TState>(TState state, ReadOnlySpan<byte> record);

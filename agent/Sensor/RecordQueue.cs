using System.Buffers.Binary;

namespace Platform.Agent.Sensor;

/// <summary>
/// Raw records between the thread that drains the kernel's ring buffer and the one that turns them into events: one
/// writer, one reader. Each record is copied in as it is (a length, then its bytes, 8-byte aligned), so draining
/// allocates nothing however many records come. When the reader falls behind and the queue is full, the writer waits
/// (the kernel's ring buffer then fills, and what it cannot take is counted there as lost).
/// <para>
/// The memory is native, reserved once at the queue's capacity and used in chunks (128 KiB, or half the capacity when
/// that is smaller): the writer takes the chunk the reader gave back last, so a queue that keeps up stays in one or two
/// chunks; a chunk given back beyond those two returns its pages to the kernel (madvise). The queue's resident memory
/// follows what it holds, not its capacity (a ring over one array is touched whole as it cycles).
/// </para>
/// </summary>
public sealed unsafe partial class RecordQueue : IDisposable
{
    private const int Wrap = -1;
    private const int MaxChunkBytes = 128 * 1024;

    /// <summary>Chunks given back and kept resident for the writer to take next.</summary>
    private const int Spares = 2;

    private readonly int _capacity, _chunkBytes, _chunks;
    private readonly bool _canRelease;
    private byte* _memory;
    private readonly ManualResetEventSlim _written = new(false), _read = new(false);

    // Positions are bytes written and read so far: position p is at offset p % _chunkBytes of the chunk the writer
    // took for the p / _chunkBytes-th time (_order). A record never spans two chunks: the rest of a chunk is skipped.
    private long _head, _tail;
    private readonly int[] _order;

    // Chunks not in use (taken by the writer, given back by the reader): those resident first, then the released.
    private readonly Lock _free = new();
    private readonly int[] _spare = new int[Spares];
    private readonly int[] _released;
    private int _spareCount, _releasedCount;

    public RecordQueue(int capacity)
    {
        if (capacity < 4096 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "a power of two, at least 4096");
        _capacity = capacity;
        _chunkBytes = Math.Min(MaxChunkBytes, capacity / 2);
        _chunks = capacity / _chunkBytes;
        _canRelease = OperatingSystem.IsLinux() && _chunkBytes % Environment.SystemPageSize == 0;
        _memory = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, (nuint)Math.Max(Environment.SystemPageSize, 4096));
        _order = new int[_chunks];
        _released = new int[_chunks];
        for (var chunk = _chunks - 1; chunk >= 0; chunk--)
            _released[_releasedCount++] = chunk; // never touched yet: nothing resident
    }

    ~RecordQueue() => Free();

    /// <summary>Records too large for the queue (none: a record is below 64 KiB, a chunk at least that unless the queue is small).</summary>
    public long Oversized { get; private set; }

    /// <summary>Bytes of the queue's memory in use or kept resident (chunks holding records, the spares); the rest is given back to the kernel.</summary>
    public long ResidentBytes
    {
        get
        {
            lock (_free)
                return (long)(_chunks - _releasedCount) * _chunkBytes;
        }
    }

    /// <summary>Copies a record in, waiting for room while <paramref name="stopping"/> is false. False when it was not copied.</summary>
    public bool Write(ReadOnlySpan<byte> record, ref bool stopping)
    {
        ObjectDisposedException.ThrowIf(_memory is null, this);
        var need = Align(4 + record.Length);
        if (need > _chunkBytes)
        {
            Oversized++;
            return false;
        }

        while (true)
        {
            var head = _head;
            var at = (int)(head % _chunkBytes);
            var toEnd = _chunkBytes - at;
            if (at > 0 && need > toEnd)
            {
                // Not in what is left of this chunk: mark the rest skipped, and go on at the next chunk's start.
                BinaryPrimitives.WriteInt32LittleEndian(Chunk(head), Wrap);
                Volatile.Write(ref _head, head + toEnd);
                _written.Set();
                continue;
            }

            // Room for the record, counting chunks whole: the reader's chunk is not free until it has left it.
            var tail = Volatile.Read(ref _tail);
            if (head + need - (tail - tail % _chunkBytes) <= _capacity)
            {
                if (at == 0)
                    _order[(int)(head / _chunkBytes % _chunks)] = Take();
                var into = Chunk(head);
                BinaryPrimitives.WriteInt32LittleEndian(into, record.Length);
                record.CopyTo(into[4..]);
                Volatile.Write(ref _head, head + need);
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
        ObjectDisposedException.ThrowIf(_memory is null, this);
        var head = Volatile.Read(ref _head);
        var tail = _tail;
        var count = 0;
        while (tail < head && count < max)
        {
            var from = Chunk(tail);
            var length = BinaryPrimitives.ReadInt32LittleEndian(from);
            var next = length == Wrap ? tail + from.Length : tail + Align(4 + length);
            if (length != Wrap)
            {
                read(state, from.Slice(4, length));
                count++;
            }

            if (next % _chunkBytes == 0)
                GiveBack(_order[(int)(tail / _chunkBytes % _chunks)]); // read to its end: the writer is past it
            tail = next;
            Volatile.Write(ref _tail, tail);
        }

        _read.Set();
        return count;
    }

    /// <summary>The bytes from position <paramref name="at"/> to the end of its chunk.</summary>
    private Span<byte> Chunk(long at)
    {
        var offset = (int)(at % _chunkBytes);
        var chunk = _order[(int)(at / _chunkBytes % _chunks)];
        return new Span<byte>(_memory + ((long)chunk * _chunkBytes) + offset, _chunkBytes - offset);
    }

    /// <summary>A free chunk for the writer: the one given back last if it is resident.</summary>
    private int Take()
    {
        lock (_free)
            return _spareCount > 0 ? _spare[--_spareCount] : _released[--_releasedCount];
    }

    /// <summary>A chunk read to its end: kept resident as a spare, or its pages given back to the kernel.</summary>
    private void GiveBack(int chunk)
    {
        lock (_free)
        {
            if (_spareCount < Spares)
            {
                _spare[_spareCount++] = chunk;
                return;
            }
        }

        if (_canRelease)
            _ = MAdvise(_memory + ((long)chunk * _chunkBytes), (nuint)_chunkBytes, DontNeed);
        lock (_free)
            _released[_releasedCount++] = chunk;
    }

    private static int Align(int length) => (length + 7) & ~7;

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_memory is null)
            return;
        NativeMemory.AlignedFree(_memory);
        _memory = null;
    }

    private const int DontNeed = 4; // MADV_DONTNEED: the pages are freed; touched again, they are new zeroed pages

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(void* address, nuint length, int advice);
}

/// <summary>Reads one record, in place (the bytes are valid during the call only).</summary>
public delegate void ReadRecord<TState>(TState state, ReadOnlySpan<byte> record);

using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Win32.SafeHandles;

namespace Platform.Agent.Delivery;

/// <summary>Bounds of one spool queue.</summary>
public sealed record SpoolLimits
{
    /// <summary>A segment file is closed and a new one begun past this size.</summary>
    public long SegmentBytes { get; init; } = 1 << 20;

    /// <summary>A record larger than this is refused when written and taken for corruption when read.</summary>
    public int MaxRecordBytes { get; init; } = 1 << 20;
}

/// <summary>Records sent together: always the same ones, with the same id and sequence, until acknowledged.</summary>
public sealed record SpoolBatch(string Id, long Sequence, IReadOnlyList<byte[]> Records, long EndSegment, long EndOffset);

/// <summary>What a queue holds and has lost, for the heartbeat.</summary>
public sealed record SpoolCounts(long Records, long Bytes, long DroppedRecords, long QuarantinedRegions, long QuarantinedBytes);

/// <summary>
/// A durable FIFO of records in a directory: append-only segment files of framed records
/// (<c>[length u32][crc32 u32][payload]</c>, little-endian) and a cursor file saying where the first record not yet
/// acknowledged is, which batch is in flight and the next batch sequence number.
/// <para>
/// A record is written with one <c>pwrite</c> before <see cref="Append"/> returns: it is in the kernel's page
/// cache, so it survives the agent being killed (<see cref="Sync"/> makes it survive a power cut too). A batch is
/// recorded in the cursor before it is sent and the cursor moves past it only when it is acknowledged, so after
/// a crash the same records go again with the same id and sequence (the api stores a replay once).
/// </para>
/// <para>
/// A droppable queue (telemetry) gives up its oldest segment when told to make room (<see cref="DropOldest"/>);
/// the next batch then skips a sequence number, so the api records a coverage gap where the data was lost.
/// A record that fails its checksum is never sent and never stops the queue: the rest of its segment is moved
/// to <c>quarantine/</c> and counted.
/// </para>
/// </summary>
public sealed partial class SpoolQueue : IDisposable
{
    private const int HeaderBytes = 8;
    private readonly string _directory;
    private readonly string _batchPrefix;
    private readonly SpoolLimits _limits;
    private readonly Lock _gate = new();

    // Segments from the cursor's to the tail, oldest first; the tail is the one appended to.
    private readonly List<SegmentFile> _segments = [];
    private Cursor _cursor;
    private SafeFileHandle? _tail;
    private long _dropped, _quarantinedRegions, _quarantinedBytes;

    private sealed class SegmentFile(long index, string path)
    {
        public long Index { get; } = index;
        public string Path { get; } = path;
        public long Bytes { get; set; }

        /// <summary>Offsets where records start, in order; a record's end is the next one's start (or <see cref="Bytes"/>).</summary>
        public List<long> Starts { get; } = [];
    }

    /// <summary>Written as JSON, replaced atomically (write, fsync, rename).</summary>
    private sealed record Cursor(long Segment, long Offset, long NextSequence, bool GapPending, InFlight? Batch, long Dropped, long QuarantinedRegions, long QuarantinedBytes);

    private sealed record InFlight(string Id, long Sequence, long EndSegment, long EndOffset);

    [JsonSerializable(typeof(Cursor))]
    private sealed partial class CursorJson : JsonSerializerContext;

    public SpoolQueue(string directory, string batchPrefix, SpoolLimits? limits = null)
    {
        _directory = directory;
        _batchPrefix = batchPrefix;
        _limits = limits ?? new SpoolLimits();
        Directory.CreateDirectory(directory);
        _cursor = ReadCursor() ?? new Cursor(0, 0, 1, false, null, 0, 0, 0);
        (_dropped, _quarantinedRegions, _quarantinedBytes) = (_cursor.Dropped, _cursor.QuarantinedRegions, _cursor.QuarantinedBytes);
        Open();
    }

    private string CursorPath => Path.Combine(_directory, "cursor.json");

    private string QuarantineDirectory => Path.Combine(_directory, "quarantine");

    private string SegmentPath(long index) => Path.Combine(_directory, $"{index:D16}.seg");

    public SpoolCounts Counts
    {
        get
        {
            lock (_gate)
                return new SpoolCounts(PendingRecords(), PendingBytes(), _dropped, _quarantinedRegions, _quarantinedBytes);
        }
    }

    /// <summary>Bytes on disk not yet acknowledged.</summary>
    public long PendingBytes()
    {
        lock (_gate)
            return _segments.Sum(s => s.Bytes) - (_segments.Count > 0 && _segments[0].Index == _cursor.Segment ? _cursor.Offset : 0);
    }

    private long PendingRecords() =>
        _segments.Sum(s => (long)s.Starts.Count) - (_segments.Count > 0 && _segments[0].Index == _cursor.Segment ? _segments[0].Starts.BinarySearchIndex(_cursor.Offset) : 0);

    /// <summary>Appends records, in order, each as one write. Returns when the kernel has them.</summary>
    public void Append(IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        var lengths = new int[records.Count];
        var payloads = new byte[records.Sum(r => r.Length)];
        var at = 0;
        for (var i = 0; i < records.Count; i++)
        {
            records[i].Span.CopyTo(payloads.AsSpan(at));
            (lengths[i], at) = (records[i].Length, at + records[i].Length);
        }

        Append(payloads, lengths);
    }

    /// <summary>
    /// Appends records given one after the other in <paramref name="payloads"/>, each <paramref name="lengths"/> long,
    /// in order. Returns when the kernel has them (one write, or one per segment they span).
    /// </summary>
    public void Append(ReadOnlySpan<byte> payloads, ReadOnlySpan<int> lengths)
    {
        var total = 0;
        foreach (var length in lengths)
        {
            if (length > _limits.MaxRecordBytes)
                throw new ArgumentException($"A spool record is at most {_limits.MaxRecordBytes} bytes; this one is {length}.", nameof(lengths));
            total += HeaderBytes + length;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(total);
        try
        {
            lock (_gate)
            {
                var tail = _segments[^1];
                var written = 0;
                var at = 0;
                var from = 0;
                foreach (var length in lengths)
                {
                    if (tail.Bytes + (at - written) >= _limits.SegmentBytes && tail.Bytes + (at - written) > 0)
                    {
                        WriteTail(tail, buffer.AsSpan(written, at - written));
                        written = at;
                        tail = Roll();
                    }

                    var record = payloads.Slice(from, length);
                    from += length;
                    BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), (uint)length);
                    BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at + 4), Crc32.HashToUInt32(record));
                    record.CopyTo(buffer.AsSpan(at + HeaderBytes));
                    tail.Starts.Add(tail.Bytes + (at - written));
                    at += HeaderBytes + length;
                }

                WriteTail(tail, buffer.AsSpan(written, at - written));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Append(ReadOnlyMemory<byte> record) => Append([record]);

    private void WriteTail(SegmentFile tail, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
            return;
        RandomAccess.Write(_tail!, bytes, tail.Bytes);
        tail.Bytes += bytes.Length;
    }

    /// <summary>Flushes what was appended to the disk (survives a power cut, not only a crash of the agent).</summary>
    public void Sync()
    {
        lock (_gate)
        {
            if (_tail is not null)
                RandomAccess.FlushToDisk(_tail);
        }
    }

    /// <summary>
    /// The batch to send: the one in flight if there is one (same records, id and sequence), otherwise up to
    /// <paramref name="maxRecords"/> records (and about <paramref name="maxBytes"/>) from the cursor, recorded as in
    /// flight before it is returned. Null when there is nothing to send.
    /// </summary>
    public SpoolBatch? Take(int maxRecords, long maxBytes)
    {
        lock (_gate)
        {
            if (_cursor.Batch is { } inFlight)
            {
                var again = ReadRange(_cursor.Segment, _cursor.Offset, int.MaxValue, long.MaxValue, inFlight.EndSegment, inFlight.EndOffset);
                if (again.Records.Count > 0 && again.EndSegment == inFlight.EndSegment && again.EndOffset == inFlight.EndOffset)
                    return new SpoolBatch(inFlight.Id, inFlight.Sequence, again.Records, inFlight.EndSegment, inFlight.EndOffset);
                // Its records were quarantined since: send what is left of the queue as a new batch.
                WriteCursor(_cursor with { Batch = null, GapPending = true });
            }

            var taken = ReadRange(_cursor.Segment, _cursor.Offset, maxRecords, maxBytes, long.MaxValue, long.MaxValue);
            if (taken.Records.Count == 0)
                return null;
            var sequence = _cursor.NextSequence + (_cursor.GapPending ? 1 : 0);
            var batch = new InFlight($"{_batchPrefix}-{sequence}", sequence, taken.EndSegment, taken.EndOffset);
            WriteCursor(_cursor with { Batch = batch, GapPending = false, NextSequence = sequence });
            return new SpoolBatch(batch.Id, batch.Sequence, taken.Records, batch.EndSegment, batch.EndOffset);
        }
    }

    /// <summary>The api has the batch: the cursor moves past it and segments wholly behind it are deleted.</summary>
    public void Acknowledge(SpoolBatch batch)
    {
        lock (_gate)
        {
            if (_cursor.Batch is not { } inFlight || inFlight.Id != batch.Id)
                throw new InvalidOperationException($"Batch {batch.Id} is not the one in flight.");
            WriteCursor(_cursor with { Segment = batch.EndSegment, Offset = batch.EndOffset, NextSequence = batch.Sequence + 1, Batch = null });
            DeleteSegmentsBefore(batch.EndSegment);
        }
    }

    /// <summary>
    /// Gives up the oldest segment not in flight (telemetry when the spool is full), counting its records as
    /// dropped and leaving a gap in the batch sequence. False when there is nothing that may be dropped.
    /// </summary>
    public bool DropOldest()
    {
        lock (_gate)
        {
            // Not the segments holding the batch in flight: it may be being sent.
            var first = _cursor.Batch is { } inFlight
                ? _segments.FindIndex(s => s.Index > inFlight.EndSegment || (s.Index == inFlight.EndSegment && inFlight.EndOffset == 0))
                : 0;
            if (first < 0)
                return false;
            if (first == _segments.Count - 1)
            {
                if (_segments[first].Bytes == 0)
                    return false;
                Roll();
            }

            var victim = _segments[first];
            var records = victim.Index == _cursor.Segment ? victim.Starts.Count - victim.Starts.BinarySearchIndex(_cursor.Offset) : victim.Starts.Count;
            _dropped += records;
            _segments.RemoveAt(first);
            File.Delete(victim.Path);
            var next = _segments[first].Index;
            WriteCursor(_cursor.Batch is null
                ? _cursor with { Segment = next, Offset = 0, GapPending = true }
                : _cursor with { GapPending = true });
            return true;
        }
    }

    /// <summary>
    /// Reads records from (segment, offset) up to a count, a byte budget or an end position. A record that does
    /// not check out ends its segment: the rest is quarantined and reading goes on in the next one.
    /// </summary>
    private (List<byte[]> Records, long EndSegment, long EndOffset) ReadRange(long segment, long offset, int maxRecords, long maxBytes, long endSegment, long endOffset)
    {
        var records = new List<byte[]>();
        long bytes = 0;
        foreach (var file in _segments.Where(s => s.Index >= segment).ToList())
        {
            var at = file.Index == segment ? offset : 0;
            using (var reader = new SegmentReader(file, _limits.MaxRecordBytes))
            {
                while (at < file.Bytes)
                {
                    if ((file.Index, at).CompareTo((endSegment, endOffset)) >= 0 || records.Count >= maxRecords || (records.Count > 0 && bytes >= maxBytes))
                        return (records, file.Index, at);
                    if (!reader.TryRead(at, out var record))
                    {
                        Quarantine(file, at);
                        break;
                    }

                    records.Add(record.ToArray());
                    bytes += record.Length;
                    at += HeaderBytes + record.Length;
                }
            }

            if (file == _segments[^1] || (file.Index, at).CompareTo((endSegment, endOffset)) >= 0)
                return (records, file.Index, at);
        }

        var last = _segments[^1];
        return (records, last.Index, last.Bytes);
    }

    /// <summary>
    /// Reads a segment's records through a buffer filled a large block at a time (a read system call per block, not
    /// two per record). A record checks out when its length is within the limit, it ends within the segment and its
    /// checksum matches.
    /// </summary>
    private sealed class SegmentReader : IDisposable
    {
        private const int Block = 128 * 1024;
        private readonly SegmentFile _file;
        private readonly int _maxRecordBytes;
        private readonly SafeFileHandle _handle;
        private byte[] _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Block);
        private long _start;
        private int _count;

        public SegmentReader(SegmentFile file, int maxRecordBytes)
        {
            (_file, _maxRecordBytes) = (file, maxRecordBytes);
            _handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }

        /// <summary>The payload of the record at <paramref name="at"/> (valid until the next call); false when it does not check out.</summary>
        public bool TryRead(long at, out ReadOnlySpan<byte> payload)
        {
            payload = default;
            if (at + HeaderBytes > _file.Bytes || !Fill(at, HeaderBytes))
                return false;
            var header = _buffer.AsSpan((int)(at - _start), HeaderBytes);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (length > _maxRecordBytes || at + HeaderBytes + length > _file.Bytes || !Fill(at, HeaderBytes + (int)length))
                return false;
            payload = _buffer.AsSpan((int)(at - _start) + HeaderBytes, (int)length);
            return Crc32.HashToUInt32(payload) == crc;
        }

        /// <summary>Makes the buffer hold <paramref name="count"/> bytes from <paramref name="at"/>; false when the file ends first.</summary>
        private bool Fill(long at, int count)
        {
            if (at >= _start && at + count <= _start + _count)
                return true;
            if (_buffer.Length < count)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(count);
            }

            var want = (int)Math.Min(_buffer.Length, Math.Max(count, _file.Bytes - at));
            (_start, _count) = (at, 0);
            while (_count < want)
            {
                var read = RandomAccess.Read(_handle, _buffer.AsSpan(_count, want - _count), at + _count);
                if (read <= 0)
                    break;
                _count += read;
            }

            return _count >= count;
        }

        public void Dispose()
        {
            _handle.Dispose();
            System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Moves the bytes of a segment from <paramref name="at"/> on aside; they are never read again.</summary>
    private void Quarantine(SegmentFile file, long at)
    {
        Directory.CreateDirectory(QuarantineDirectory);
        using (var source = new FileStream(file.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        using (var target = new FileStream(Path.Combine(QuarantineDirectory, $"{file.Index:D16}-{at}.bad"), FileMode.Create))
        {
            source.Position = at;
            source.CopyTo(target);
            source.SetLength(at);
        }

        _quarantinedRegions++;
        _quarantinedBytes += file.Bytes - at;
        file.Bytes = at;
        file.Starts.RemoveAll(start => start >= at);
        if (file == _segments[^1])
        {
            // The tail was cut short: new records go into a new segment, after the quarantined bytes' place.
            Roll();
        }

        WriteCursor(_cursor);
    }

    private void Open()
    {
        foreach (var path in Directory.EnumerateFiles(_directory, "*.seg").Order(StringComparer.Ordinal))
        {
            var index = long.Parse(Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture);
            if (index < _cursor.Segment)
            {
                File.Delete(path); // acknowledged before a crash, not yet deleted
                continue;
            }

            _segments.Add(new SegmentFile(index, path) { Bytes = new FileInfo(path).Length });
        }

        // Index every record not yet acknowledged; a torn or corrupt one ends its segment there (quarantined).
        foreach (var file in _segments.ToList())
        {
            var at = file.Index == _cursor.Segment ? _cursor.Offset : 0;
            using (var reader = new SegmentReader(file, _limits.MaxRecordBytes))
            {
                while (at < file.Bytes && reader.TryRead(at, out var record))
                {
                    file.Starts.Add(at);
                    at += HeaderBytes + record.Length;
                }
            }

            if (at < file.Bytes)
                Quarantine(file, at);
        }

        if (_segments.Count == 0 || _segments[^1].Index < _cursor.Segment)
            _segments.Add(new SegmentFile(_cursor.Segment, SegmentPath(_cursor.Segment)));
        OpenTail();
        WriteCursor(_cursor);
    }

    private SegmentFile Roll()
    {
        if (_tail is not null)
            RandomAccess.FlushToDisk(_tail);
        var next = new SegmentFile(_segments[^1].Index + 1, SegmentPath(_segments[^1].Index + 1));
        _segments.Add(next);
        OpenTail();
        return next;
    }

    private void OpenTail()
    {
        _tail?.Dispose();
        _tail = File.OpenHandle(_segments[^1].Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
    }

    private void DeleteSegmentsBefore(long index)
    {
        while (_segments.Count > 1 && _segments[0].Index < index)
        {
            File.Delete(_segments[0].Path);
            _segments.RemoveAt(0);
        }
    }

    private Cursor? ReadCursor()
    {
        var unreadable = false;
        var cursor = StateFile.Read(CursorPath, CursorJson.Default.Cursor, _ => unreadable = true);
        if (!unreadable)
            return cursor;
        // A cursor that cannot be read: start from the oldest segment (records may go twice, none is lost).
        var oldest = Directory.EnumerateFiles(_directory, "*.seg").Order(StringComparer.Ordinal).FirstOrDefault();
        var segment = oldest is null ? 0 : long.Parse(Path.GetFileNameWithoutExtension(oldest), System.Globalization.CultureInfo.InvariantCulture);
        return new Cursor(segment, 0, 1, true, null, 0, 1, 0);
    }

    private void WriteCursor(Cursor cursor)
    {
        _cursor = cursor with { Dropped = _dropped, QuarantinedRegions = _quarantinedRegions, QuarantinedBytes = _quarantinedBytes };
        StateFile.Write(CursorPath, _cursor, CursorJson.Default.Cursor);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _tail?.Dispose();
            _tail = null;
        }
    }
}

internal static class OffsetSearch
{
    /// <summary>How many of the (sorted) record starts lie before <paramref name="offset"/>.</summary>
    public static int BinarySearchIndex(this List<long> starts, long offset)
    {
        var found = starts.BinarySearch(offset);
        return found >= 0 ? found : ~found;
    }
}

using System.Buffers.Binary;
using System.IO.Hashing;

namespace Platform.Agent.Delivery;

/// <summary>
/// A durable FIFO of records in a directory: append-only segment files of framed records
/// (<c>[length u32][crc32 u32][payload]</c>, little-endian) and a position file (<c>cursor.json</c>) saying where the first record not yet
/// acknowledged is, which batch is in flight and the next batch sequence number.
/// <para>
/// A record is written with one <c>pwrite</c> before <see cref="Append"/> returns: it is in the kernel's page
/// cache, so it survives the agent being killed (<see cref="Sync"/> makes it survive a power cut too). A batch is
/// recorded in the position before it is sent and the position moves past it only when it is acknowledged, so after
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

    // Segments from the position's to the tail, oldest first; the tail is the one appended to.
    private readonly List<SegmentFile> _segments = [];
    private Position _position;
    private SafeFileHandle? _tail;
    private long _dropped, _quarantinedRegions, _quarantinedBytes;
    private long _appended;

    /// <summary>Records appended since the process started (the agent's captured count, docs/observability.md).</summary>
    public long Appended => Interlocked.Read(ref _appended);

    public SpoolQueue(string directory, string batchPrefix, SpoolLimits? limits = null)
    {
        _directory = directory;
        _batchPrefix = batchPrefix;
        _limits = limits ?? new SpoolLimits();
        Directory.CreateDirectory(directory);
        _position = ReadPosition() ?? new Position(0, 0, 1, false, null, 0, 0, 0);
        (_dropped, _quarantinedRegions, _quarantinedBytes) = (_position.Dropped, _position.QuarantinedRegions, _position.QuarantinedBytes);
        Open();
    }

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
            return _segments.Sum(s => s.Bytes) - (_segments.Count > 0 && _segments[0].Index == _position.Segment ? _position.Offset : 0);
    }

    private long PendingRecords() =>
        _segments.Sum(s => (long)s.Starts.Count) - (_segments.Count > 0 && _segments[0].Index == _position.Segment ? _segments[0].Starts.BinarySearchIndex(_position.Offset) : 0);

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
                _appended += lengths.Length;
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
    /// <paramref name="maxRecords"/> records (and about <paramref name="maxBytes"/>) from the position, recorded as in
    /// flight before it is returned. Null when there is nothing to send.
    /// </summary>
    public SpoolBatch? Take(int maxRecords, long maxBytes)
    {
        lock (_gate)
        {
            if (_position.Batch is { } inFlight)
            {
                var again = ReadRange(_position.Segment, _position.Offset, int.MaxValue, long.MaxValue, inFlight.EndSegment, inFlight.EndOffset);
                if (again.Records.Count > 0 && again.EndSegment == inFlight.EndSegment && again.EndOffset == inFlight.EndOffset)
                    return new SpoolBatch(inFlight.Id, inFlight.Sequence, again.Records, inFlight.EndSegment, inFlight.EndOffset);
                // Its records were quarantined since: send what is left of the queue as a new batch.
                WritePosition(_position with { Batch = null, GapPending = true });
            }

            var taken = ReadRange(_position.Segment, _position.Offset, maxRecords, maxBytes, long.MaxValue, long.MaxValue);
            if (taken.Records.Count == 0)
                return null;
            var sequence = _position.NextSequence + (_position.GapPending ? 1 : 0);
            var batch = new InFlight($"{_batchPrefix}-{sequence}", sequence, taken.EndSegment, taken.EndOffset);
            WritePosition(_position with { Batch = batch, GapPending = false, NextSequence = sequence });
            return new SpoolBatch(batch.Id, batch.Sequence, taken.Records, batch.EndSegment, batch.EndOffset);
        }
    }

    /// <summary>The api has the batch: the position moves past it and segments wholly behind it are deleted.</summary>
    public void Acknowledge(SpoolBatch batch)
    {
        lock (_gate)
        {
            if (_position.Batch is not { } inFlight || inFlight.Id != batch.Id)
                throw new InvalidOperationException($"Batch {batch.Id} is not the one in flight.");
            WritePosition(_position with { Segment = batch.EndSegment, Offset = batch.EndOffset, NextSequence = batch.Sequence + 1, Batch = null });
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
            var first = _position.Batch is { } inFlight
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
            var records = victim.Index == _position.Segment ? victim.Starts.Count - victim.Starts.BinarySearchIndex(_position.Offset) : victim.Starts.Count;
            _dropped += records;
            _segments.RemoveAt(first);
            File.Delete(victim.Path);
            var next = _segments[first].Index;
            WritePosition(_position.Batch is null
                ? _position with { Segment = next, Offset = 0, GapPending = true }
                : _position with { GapPending = true });
            return true;
        }
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

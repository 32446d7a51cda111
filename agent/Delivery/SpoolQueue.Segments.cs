using System.Buffers.Binary;
using System.IO.Hashing;

namespace Platform.Agent.Delivery;

/// <summary>The segment files on disk: indexing them at open, reading records back, rolling to a new tail, quarantining corrupt bytes.</summary>
public sealed partial class SpoolQueue
{
    private sealed class SegmentFile(long index, string path)
    {
        public long Index { get; } = index;
        public string Path { get; } = path;
        public long Bytes { get; set; }

        /// <summary>Offsets where records start, in order; a record's end is the next one's start (or <see cref="Bytes"/>).</summary>
        public List<long> Starts { get; } = [];
    }

    private string QuarantineDirectory => Path.Combine(_directory, "quarantine");

    private string SegmentPath(long index) => Path.Combine(_directory, $"{index:D16}.seg");

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

        WritePosition(_position);
    }

    private void Open()
    {
        foreach (var path in Directory.EnumerateFiles(_directory, "*.seg").Order(StringComparer.Ordinal))
        {
            var index = long.Parse(Path.GetFileNameWithoutExtension(path), System.Globalization.CultureInfo.InvariantCulture);
            if (index < _position.Segment)
            {
                File.Delete(path); // acknowledged before a crash, not yet deleted
                continue;
            }

            _segments.Add(new SegmentFile(index, path) { Bytes = new FileInfo(path).Length });
        }

        // Index every record not yet acknowledged; a torn or corrupt one ends its segment there (quarantined).
        foreach (var file in _segments.ToList())
        {
            var at = file.Index == _position.Segment ? _position.Offset : 0;
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

        if (_segments.Count == 0 || _segments[^1].Index < _position.Segment)
            _segments.Add(new SegmentFile(_position.Segment, SegmentPath(_position.Segment)));
        OpenTail();
        WritePosition(_position);
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
}

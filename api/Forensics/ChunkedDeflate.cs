using System.Collections.Concurrent;
using System.IO.Compression;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Threading.Channels;

namespace Platform.Api.Forensics;

/// <summary>What <see cref="ChunkedDeflate"/> made: raw DEFLATE data in a file, and what a zip entry and the manifest say of its content.</summary>
public sealed record DeflatedData(Stream Compressed, long CompressedLength, long Length, uint Crc32, string Sha256);

/// <summary>
/// Compresses one stream of data on all cores, as pigz does: the data is cut into chunks of
/// <see cref="ChunkSize"/>, each compressed on its own and ended on a byte boundary by a sync flush, so that the
/// chunks written one after the other, plus an empty final block, are one DEFLATE stream. A chunk is compressed as
/// soon as it is full; a writer puts the compressed chunks in order into <c>compressed</c> and hashes the data
/// (CRC-32 for the zip, SHA-256 for the manifest). At most a few chunks are held at once, whatever the size.
/// The same data always gives the same bytes (fixed chunk size and level, no dictionary across chunks).
/// </summary>
public sealed class ChunkedDeflate : IAsyncDisposable
{
    public const int ChunkSize = 512 * 1024;

    // The fastest level codes incompressible data with fixed codes, up to 9 bits a byte: an eighth more, and block headers.
    private const int CompressedCapacity = ChunkSize + ChunkSize / 8 + 4096;

    private static readonly BufferPool Chunks = new(ChunkSize), CompressedChunks = new(CompressedCapacity);

    /// <summary>An empty last block with fixed codes: BFINAL = 1, BTYPE = 01, end-of-block code.</summary>
    private static readonly byte[] FinalBlock = [0x03, 0x00];

    private readonly Stream _compressed;
    private readonly long _start;
    private readonly Channel<Task<Chunk>> _chunks;
    private readonly Task _writing;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Crc32 _crc32 = new();
    private byte[]? _current;
    private int _filled;
    private long _length;

    /// <param name="compressed">Where the compressed data goes, from its current position.</param>
    public ChunkedDeflate(Stream compressed)
    {
        _compressed = compressed;
        _start = compressed.Position;
        // Chunks waiting for the writer (compressing or done): enough to keep every core busy.
        _chunks = Channel.CreateBounded<Task<Chunk>>(new BoundedChannelOptions(Environment.ProcessorCount) { SingleReader = true, SingleWriter = true });
        _writing = Task.Run(WriteChunksAsync);
    }

    /// <summary>Adds data, sending each chunk to be compressed once it is full (and waiting while too many are in flight).</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            _current ??= Chunks.Rent();
            var n = Math.Min(data.Length, ChunkSize - _filled);
            data.Span[..n].CopyTo(_current.AsSpan(_filled));
            _filled += n;
            _length += n;
            data = data[n..];
            if (_filled == ChunkSize)
                await SendAsync(cancellationToken);
        }
    }

    /// <summary>Adds a line and its line end.</summary>
    public ValueTask WriteLineAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken) =>
        TryWriteLine(line.Span) ? ValueTask.CompletedTask : WriteLineSlowlyAsync(line, cancellationToken);

    /// <summary>A line that fits what is left of the chunk, copied without the ceremony of an async call (most lines).</summary>
    private bool TryWriteLine(ReadOnlySpan<byte> line)
    {
        if (_current is null || ChunkSize - _filled <= line.Length)
            return false;
        line.CopyTo(_current.AsSpan(_filled));
        _current[_filled + line.Length] = (byte)'\n';
        _filled += line.Length + 1;
        _length += line.Length + 1;
        return true;
    }

    private async ValueTask WriteLineSlowlyAsync(ReadOnlyMemory<byte> line, CancellationToken cancellationToken)
    {
        await WriteAsync(line, cancellationToken);
        await WriteAsync(LineEnd, cancellationToken);
    }

    private static readonly ReadOnlyMemory<byte> LineEnd = "\n"u8.ToArray();

    private ValueTask SendAsync(CancellationToken cancellationToken)
    {
        var (data, length) = (_current!, _filled);
        (_current, _filled) = (null, 0);
        return _chunks.Writer.WriteAsync(Task.Run(() => Compress(data, length)), cancellationToken);
    }

    /// <summary>Compresses what is left, waits for every chunk to be written and ends the stream.</summary>
    public async Task<DeflatedData> CompleteAsync(CancellationToken cancellationToken)
    {
        if (_filled > 0)
            await SendAsync(cancellationToken);
        _chunks.Writer.TryComplete();
        await _writing;
        await _compressed.WriteAsync(FinalBlock, cancellationToken);
        await _compressed.FlushAsync(cancellationToken);
        return new DeflatedData(_compressed, _compressed.Position - _start, _length, _crc32.GetCurrentHashAsUInt32(), Convert.ToHexStringLower(_sha256.GetHashAndReset()));
    }

    private static Chunk Compress(byte[] data, int length)
    {
        var compressed = CompressedChunks.Rent();
        var output = new MemoryStream(compressed, 0, compressed.Length, writable: true);
        using var deflate = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true);
        deflate.Write(data, 0, length);
        deflate.Flush(); // a sync flush: everything so far, ended on a byte boundary (disposing then adds a final block, not taken)
        return new Chunk(data, length, compressed, (int)output.Position);
    }

    private async Task WriteChunksAsync()
    {
        try
        {
            await foreach (var pending in _chunks.Reader.ReadAllAsync())
            {
                var chunk = await pending;
                try
                {
                    var data = chunk.Data.AsSpan(0, chunk.Length);
                    _sha256.AppendData(data);
                    _crc32.Append(data);
                    await _compressed.WriteAsync(chunk.Compressed.AsMemory(0, chunk.CompressedLength));
                }
                finally
                {
                    Chunks.Return(chunk.Data);
                    CompressedChunks.Return(chunk.Compressed);
                }
            }
        }
        catch (Exception ex)
        {
            // The producer's next send fails instead of waiting for room that never comes.
            _chunks.Writer.TryComplete(ex);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _chunks.Writer.TryComplete();
        try
        {
            await _writing;
        }
        catch (Exception)
        {
            // Already surfaced to the producer (a failed send or CompleteAsync); here only the buffers matter.
        }

        // Chunks the writer never reached (it failed): let their compression finish and give the buffers back.
        while (_chunks.Reader.TryRead(out var pending))
        {
            try
            {
                var chunk = await pending;
                Chunks.Return(chunk.Data);
                CompressedChunks.Return(chunk.Compressed);
            }
            catch (Exception)
            {
                // Its buffers are lost to the pool, which is fine: the pool makes new ones.
            }
        }

        if (_current is not null)
            Chunks.Return(_current);
        _current = null;
        _sha256.Dispose();
    }

    /// <summary>
    /// Buffers of one size, a few kept for the next bundle. (ArrayPool rounds sizes up to a power of two: a
    /// compressed chunk's buffer, a little larger than a chunk, would take twice a chunk.)
    /// </summary>
    private sealed class BufferPool(int size)
    {
        private const int Kept = 16;
        private readonly ConcurrentQueue<byte[]> _free = new();

        public byte[] Rent() => _free.TryDequeue(out var buffer) ? buffer : GC.AllocateUninitializedArray<byte>(size);

        public void Return(byte[] buffer)
        {
            if (_free.Count < Kept)
                _free.Enqueue(buffer);
        }
    }

    private readonly record struct Chunk(byte[] Data, int Length, byte[] Compressed, int CompressedLength);
}

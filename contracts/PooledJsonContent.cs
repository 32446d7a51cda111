using System.Buffers;
using System.Net;
using System.Text.Json;

namespace Platform.Contracts;

/// <summary>
/// A JSON request body serialised once into a buffer rented from the shared pool and given back when the request
/// is disposed, so that large bodies (a flight-data push is ~150 KB) are not a new large-object allocation per
/// request. The length is known before sending (Content-Length, no chunked encoding), and the content can be sent
/// again (redirects, retries) until it is disposed. Used by the generated client (Templates/Client.Class.liquid).
/// </summary>
public sealed class PooledJsonContent : HttpContent
{
    private byte[]? _buffer;
    private readonly int _length;

    private PooledJsonContent(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    /// <summary>
    /// Takes a buffer rented from <see cref="ArrayPool{T}.Shared"/> holding <paramref name="length"/> bytes of JSON
    /// written by the caller (e.g. a batch put together from JSON already serialised); it is given back when the
    /// content is disposed.
    /// </summary>
    public static PooledJsonContent Adopt(byte[] rented, int length) =>
        length >= 0 && length <= rented.Length ? new PooledJsonContent(rented, length) : throw new ArgumentOutOfRangeException(nameof(length));

    public static PooledJsonContent Create<T>(T value, JsonSerializerOptions options)
    {
        var output = new PooledBufferWriter();
        try
        {
            using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = options.Encoder, Indented = options.WriteIndented, SkipValidation = true }))
                JsonSerializer.Serialize(writer, value, options.TypeInfo<T>());
            return new PooledJsonContent(output.Detach(out var length), length);
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    public ReadOnlySpan<byte> Json => Buffer.AsSpan(0, _length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledJsonContent));

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(Buffer, 0, _length);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(Buffer.AsMemory(0, _length), cancellationToken).AsTask();

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.Write(Buffer, 0, _length);

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _buffer, null) is { } buffer)
            ArrayPool<byte>.Shared.Return(buffer);
        base.Dispose(disposing);
    }

    /// <summary>An <see cref="IBufferWriter{T}"/> over rented arrays, growing by renting a larger one.</summary>
    private sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
    {
        private byte[] _array = ArrayPool<byte>.Shared.Rent(16 * 1024);
        private int _written;

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Grow(sizeHint);
            return _array.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Grow(sizeHint);
            return _array.AsSpan(_written);
        }

        private void Grow(int sizeHint)
        {
            var needed = Math.Max(sizeHint, 1);
            if (_array.Length - _written < needed)
            {
                var larger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(_array.Length * 2, _written + needed)));
                _array.AsSpan(0, _written).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
                _array = larger;
            }
        }

        public byte[] Detach(out int length)
        {
            length = _written;
            var array = _array;
            _array = [];
            return array;
        }

        public void Dispose()
        {
            if (_array.Length > 0)
                ArrayPool<byte>.Shared.Return(_array);
            _array = [];
        }
    }
}

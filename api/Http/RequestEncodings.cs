namespace Platform.Api.Http;

/// <summary>
/// Compressed request bodies (<c>Content-Encoding: gzip</c>, <c>br</c> or <c>deflate</c>): any other encoding is a 415
/// (the framework would pass it through and the body would be read as if it were plain), and a body that does not
/// decompress is a 400 (the decoder's InvalidDataException would otherwise be a 500 wherever the body is read).
/// </summary>
public static class RequestEncodings
{
    private static readonly string[] Supported = ["gzip", "br", "deflate"];

    private static readonly object EncodingKey = new();

    public static IApplicationBuilder UsePlatformRequestDecompression(this IApplicationBuilder app)
    {
        app.Use((http, next) =>
        {
            var encodings = http.Request.Headers.ContentEncoding.ToString()
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Where(e => !e.Equals("identity", StringComparison.OrdinalIgnoreCase))
                .ToArray();
            if (encodings.Length > 1 || (encodings.Length == 1 && !Supported.Contains(encodings[0], StringComparer.OrdinalIgnoreCase)))
                throw new BadHttpRequestException(
                    $"Content-Encoding '{string.Join(", ", encodings)}' is not supported; send the body uncompressed or with one of: {string.Join(", ", Supported)}.",
                    StatusCodes.Status415UnsupportedMediaType);
            if (encodings.Length == 1)
                http.Items[EncodingKey] = encodings[0];
            return next(http);
        });
        app.UseRequestDecompression();
        return app.Use((http, next) =>
        {
            // The decompression middleware removes Content-Encoding once it has wrapped the body: remembered above.
            if (http.Items.TryGetValue(EncodingKey, out var encoding) && encoding is string name)
            {
                // JSON binding reads the pipe, which was made over the decompressing stream: made over the checked one.
                BoundedBody.Replace(http, new CheckedBody(http.Request.Body, name), http.Request.ContentLength);
            }

            return next(http);
        });
    }

    /// <summary>The decompressed body; corrupt compressed data becomes a 400.</summary>
    private sealed class CheckedBody(Stream inner, string encoding) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
            {
                // BrotliStream reports corrupt data as InvalidOperationException, GZip and Deflate as InvalidDataException.
                throw Corrupt();
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException or InvalidOperationException)
            {
                // BrotliStream reports corrupt data as InvalidOperationException, GZip and Deflate as InvalidDataException.
                throw Corrupt();
            }
        }

        private BadHttpRequestException Corrupt() =>
            new($"The request body is not valid {encoding} data (Content-Encoding: {encoding}).");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Platform.Agent.Delivery;

/// <summary>
/// A telemetry batch's request body (<c>{"id":…,"sequence":…,"events":[…]}</c>, the contract's TelemetryBatch) made
/// from the spooled records as they are: each is already an event's JSON, written by <see cref="Spool"/>. One copy
/// into a buffer rented from the shared pool, given back when the request is disposed; it can be sent again
/// (retries) until then.
/// </summary>
public sealed class TelemetryBody : HttpContent
{
    private byte[]? _buffer;
    private readonly int _length;

    public TelemetryBody(SpoolBatch batch)
    {
        var head = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"id\":{JsonSerializer.Serialize(batch.Id, AgentJsonContext.Default.String)},\"sequence\":{batch.Sequence},\"events\":["));
        var length = head.Length + 2 + Math.Max(0, batch.Records.Count - 1);
        foreach (var record in batch.Records)
            length += record.Length;
        _buffer = ArrayPool<byte>.Shared.Rent(length);
        var body = _buffer.AsSpan();
        head.CopyTo(body);
        var at = head.Length;
        for (var i = 0; i < batch.Records.Count; i++)
        {
            if (i > 0)
                body[at++] = (byte)',';
            batch.Records[i].CopyTo(body[at..]);
            at += batch.Records[i].Length;
        }

        body[at++] = (byte)']';
        body[at++] = (byte)'}';
        _length = at;
        Headers.ContentType = new MediaTypeHeaderValue("application/json");
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(TelemetryBody));

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
}

using System.Buffers;
using System.Globalization;
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
public static class TelemetryBody
{
    public static HttpContent Create(SpoolBatch batch)
    {
        var head = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"id\":{JsonSerializer.Serialize(batch.Id, AgentJsonContext.Default.String)},\"sequence\":{batch.Sequence},\"events\":["));
        var length = head.Length + 2 + Math.Max(0, batch.Records.Count - 1);
        foreach (var record in batch.Records)
            length += record.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var body = buffer.AsSpan();
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
        var content = Platform.Contracts.PooledJsonContent.Adopt(buffer, at);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}

using System.Buffers;
using System.Text.Json.Nodes;

namespace Platform.Api.Ocsf;

/// <summary>OCSF events as NDJSON (one compact JSON object a line, UTF-8), the cursor of the rest in headers.</summary>
public static class OcsfLines
{
    public const string MediaType = "application/x-ndjson";

    private static readonly ReadOnlyMemory<byte> Newline = "\n"u8.ToArray();

    public static PushStreamHttpResult Stream(HttpContext http, string? next, IAsyncEnumerable<JsonObject> events)
    {
        ContinuationHeaders.Set(http, next);
        return TypedResults.Stream(
            async stream =>
            {
                // Each line is written to a buffer, then to the body asynchronously: Kestrel refuses synchronous writes.
                var line = new ArrayBufferWriter<byte>(16 * 1024);
                await using var writer = new Utf8JsonWriter(line);
                await foreach (var evt in events)
                {
                    line.ResetWrittenCount();
                    writer.Reset(line);
                    evt.WriteTo(writer);
                    await writer.FlushAsync();
                    await stream.WriteAsync(line.WrittenMemory);
                    await stream.WriteAsync(Newline);
                }
                await stream.FlushAsync();
            },
            MediaType);
    }
}

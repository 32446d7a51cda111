using System.Text.Json.Nodes;

namespace Platform.Api.Ocsf;

/// <summary>OCSF events as NDJSON (one compact JSON object a line, UTF-8), the cursor of the rest in headers.</summary>
public static class OcsfLines
{
    public const string MediaType = "application/x-ndjson";

    public static PushStreamHttpResult Stream(HttpContext http, string? next, IAsyncEnumerable<JsonObject> events)
    {
        ContinuationHeaders.Set(http, next);
        return TypedResults.Stream(
            async stream =>
            {
                await using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
                await foreach (var evt in events)
                {
                    evt.WriteTo(writer);
                    await writer.FlushAsync();
                    stream.WriteByte((byte)'\n');
                    writer.Reset();
                }
                await stream.FlushAsync();
            },
            MediaType);
    }
}

using System.Text.Json;
using Platform.Contracts;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Contract;

public sealed class PooledJsonContentTests
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task A_large_body_is_the_same_json_as_the_serializer_writes_with_its_length_known_and_can_be_sent_again()
    {
        // ~300 KB: many times the first buffer, so it grows several times.
        var batch = Batch(1, Reads("pooled", T0, 2_000));
        var expected = JsonSerializer.SerializeToUtf8Bytes(batch, Options);

        using var content = PooledJsonContent.Create(batch, Options);

        Assert.True(expected.Length > 200_000);
        Assert.Equal(expected.Length, content.Headers.ContentLength);
        Assert.Equal(expected, await content.ReadAsByteArrayAsync());
        using var again = new MemoryStream();
        await content.CopyToAsync(again);
        Assert.Equal(expected, again.ToArray());
    }

    [Fact]
    public void A_disposed_body_cannot_be_sent()
    {
        var content = PooledJsonContent.Create(Batch(1, Reads("gone", T0, 3)), Options);
        content.Dispose();

        Assert.Throws<ObjectDisposedException>(() => content.Json.Length);
    }
}

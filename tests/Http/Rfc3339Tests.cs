using System.Globalization;
using Platform.Api.Http;

namespace Platform.Tests.Http;

/// <summary>The hand-made time formatter writes exactly what the format strings it replaced wrote.</summary>
public sealed class Rfc3339Tests
{
    [Fact]
    public void Times_are_written_as_the_format_strings_wrote_them()
    {
        var random = new Random(7);
        var samples = new List<DateTime> { DateTime.UnixEpoch, new(2026, 11, 22, 10, 1, 2, DateTimeKind.Utc), DateTime.MinValue, DateTime.MaxValue, new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(1) };
        for (var i = 0; i < 10_000; i++)
            samples.Add(new DateTime(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc));
        for (var i = 0; i < 1_000; i++)
            samples.Add(new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds(random.Next(86_400_000)));

        Span<byte> text = stackalloc byte[Rfc3339.MaxLength];
        foreach (var time in samples)
        {
            Assert.Equal(time.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture), System.Text.Encoding.ASCII.GetString(text[..Rfc3339.Write(time.Ticks, text)]));
            Assert.Equal(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), System.Text.Encoding.ASCII.GetString(text[..Rfc3339.WriteMilliseconds(time.Ticks, text)]));
        }
    }
}

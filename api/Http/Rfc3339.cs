namespace Platform.Api.Http;

/// <summary>
/// UTC RFC 3339 times as UTF-8, the API's one format: <c>2026-11-22T10:01:02.15Z</c> (fraction to 100 ns,
/// trailing zeros dropped) or, for timelines, milliseconds always (<c>.150Z</c>). Formatted without a custom
/// format string, whose parsing was a sixth of writing an event: ingest formats two times per event.
/// </summary>
public static class Rfc3339
{
    public const int MaxLength = 28;

    /// <summary>
    /// The times the API accepts: a day inside what a timestamp can hold at either end, so that windows, offsets and
    /// cursors computed from a time given by a client stay representable. Documented in openapi.yaml.
    /// </summary>
    public static readonly DateTimeOffset Earliest = new(1, 1, 2, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset Latest = new(9999, 12, 30, 23, 59, 59, TimeSpan.Zero);

    public const string RangeText = "0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z";

    public static bool IsInRange(DateTimeOffset time) => time.UtcTicks >= Earliest.UtcTicks && time.UtcTicks <= Latest.UtcTicks;

    /// <summary>Writes the time with its fraction to 100 ns, trailing zeros dropped (none at all for a whole second).</summary>
    public static int Write(long utcTicks, Span<byte> destination)
    {
        var length = WholeSeconds(utcTicks, destination);
        var fraction = (int)(utcTicks % TimeSpan.TicksPerSecond);
        if (fraction != 0)
        {
            var digits = 7;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }

            destination[length++] = (byte)'.';
            length += Digits(fraction, digits, destination[length..]);
        }

        destination[length++] = (byte)'Z';
        return length;
    }

    /// <summary>Writes the time with exactly three fraction digits (milliseconds).</summary>
    public static int WriteMilliseconds(long utcTicks, Span<byte> destination)
    {
        var length = WholeSeconds(utcTicks, destination);
        destination[length++] = (byte)'.';
        length += Digits((int)(utcTicks % TimeSpan.TicksPerSecond / TimeSpan.TicksPerMillisecond), 3, destination[length..]);
        destination[length++] = (byte)'Z';
        return length;
    }

    public static string ToString(DateTimeOffset time)
    {
        Span<byte> text = stackalloc byte[MaxLength];
        return System.Text.Encoding.ASCII.GetString(text[..Write(time.UtcTicks, text)]);
    }

    /// <summary>yyyy-MM-ddTHH:mm:ss ("s" is formatted without parsing a pattern).</summary>
    private static int WholeSeconds(long utcTicks, Span<byte> destination)
    {
        new DateTime(utcTicks, DateTimeKind.Utc).TryFormat(destination, out var length, "s", CultureInfo.InvariantCulture);
        return length;
    }

    private static int Digits(int value, int count, Span<byte> destination)
    {
        for (var i = count - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }

        return count;
    }
}

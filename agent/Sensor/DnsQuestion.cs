namespace Platform.Agent.Sensor;

/// <summary>
/// The name a DNS query asks about (RFC 1035 4.1): a 12-byte header with QR clear and at least one question, then the
/// question's name as length-prefixed labels ending in a zero byte. A query carries no compression pointers there.
/// </summary>
public static class DnsQuestion
{
    private const int HeaderBytes = 12;
    private const int MaxName = 253;

    /// <summary>The question's name ("example.com", no final dot; "." for the root), or null when it is not a query or not readable.</summary>
    public static string? Name(ReadOnlySpan<byte> message)
    {
        if (message.Length < HeaderBytes + 1)
            return null;
        var flags = (message[2] << 8) | message[3];
        var questions = (message[4] << 8) | message[5];
        if ((flags & 0x8000) != 0 || ((flags >> 11) & 0xf) != 0 || questions == 0)
            return null; // a response, not a standard query, or no question
        Span<char> name = stackalloc char[MaxName + 1];
        var length = 0;
        var at = HeaderBytes;
        while (true)
        {
            if (at >= message.Length)
                return null;
            var label = message[at++];
            if (label == 0)
                break;
            if (label > 63 || at + label > message.Length || length + label + (length > 0 ? 1 : 0) > MaxName)
                return null; // a pointer (0xC0) or a label past the message: not a question's name
            if (length > 0)
                name[length++] = '.';
            foreach (var b in message.Slice(at, label))
            {
                // Printable ASCII as it is; anything else escaped as the zone-file syntax does (\DDD).
                if (b is > 0x20 and < 0x7f && b != (byte)'\\')
                {
                    name[length++] = (char)b;
                }
                else
                {
                    if (length + 4 > MaxName)
                        return null;
                    name[length++] = '\\';
                    name[length++] = (char)('0' + (b / 100));
                    name[length++] = (char)('0' + (b / 10 % 10));
                    name[length++] = (char)('0' + (b % 10));
                }
            }

            at += label;
        }

        return length == 0 ? "." : new string(name[..length]);
    }
}

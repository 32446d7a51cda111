using System.Buffers;

namespace Platform.Contracts;

/// <summary>Secrets in self-delimiting formats, found wherever they are: prefixed tokens, AWS key ids, JWTs, PEM private keys.</summary>
public sealed partial class SecretRedactor
{
    /// <summary>Self-delimiting formats, wherever they are: tokens, keys, JWTs, PEM private keys.</summary>
    private static void Patterns(ReadOnlySpan<byte> text, List<Hit> found)
    {
        Prefixed(text, "plt_"u8, 16, PlatformToken, found);
        Prefixed(text, "ple_"u8, 16, PlatformToken, found);
        Prefixed(text, "whsec_"u8, 16, PlatformToken, found);
        Aws(text, "AKIA"u8, found);
        Aws(text, "ASIA"u8, found);
        Prefixed(text, "AIza"u8, 35, GcpApiKey, found);
        Jwts(text, found);
        Pem(text, found);
    }

    /// <summary>prefix + at least <paramref name="min"/> base64url characters, not glued to a word before it.</summary>
    private static void Prefixed(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, int min, int reason, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf(prefix);
            if (i < 0)
                return;
            var start = from + i;
            var bodyStart = start + prefix.Length;
            var bodyEnd = RunEnd(text, bodyStart, Base64Url);
            if (bodyEnd - bodyStart >= min && (start == 0 || !AlnumUnderscore.Contains(text[start - 1])))
                found.Add(new Hit(start, bodyEnd, reason));
            from = Math.Max(bodyEnd, start + 1);
        }
    }

    /// <summary>AKIA/ASIA + 16 upper-case letters or digits: an AWS access key id.</summary>
    private static void Aws(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf(prefix);
            if (i < 0)
                return;
            var start = from + i;
            var end = RunEnd(text, start + 4, UpperDigits);
            if (end - start == 20 && (start == 0 || !UpperDigits.Contains(text[start - 1])))
                found.Add(new Hit(start, end, AwsAccessKey));
            from = Math.Max(end, start + 1);
        }
    }

    /// <summary>eyJ…​.….…: a JSON Web Token (its header is base64url JSON, so it starts "eyJ").</summary>
    private static void Jwts(ReadOnlySpan<byte> text, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf("eyJ"u8);
            if (i < 0)
                return;
            var start = from + i;
            var end = RunEnd(text, start, Base64Url);
            // Any later "eyJ" inside this run ends at the same place and fails or succeeds the same way: go past it.
            from = end;
            if (end - start < 10 || end >= text.Length || text[end] != '.')
                continue;
            var second = RunEnd(text, end + 1, Base64Url);
            if (second - (end + 1) < 2 || second >= text.Length || text[second] != '.')
                continue;
            var third = RunEnd(text, second + 1, Base64Url);
            found.Add(new Hit(start, third, Jwt));
            from = third;
        }
    }

    /// <summary>Where the run of bytes of <paramref name="set"/> that begins at <paramref name="start"/> ends.</summary>
    private static int RunEnd(ReadOnlySpan<byte> text, int start, SearchValues<byte> set)
    {
        var run = text[start..].IndexOfAnyExcept(set);
        return run < 0 ? text.Length : start + run;
    }

    /// <summary>-----BEGIN … PRIVATE KEY----- to its END line (or the end of the text): the key itself, not the armour.</summary>
    private static void Pem(ReadOnlySpan<byte> text, List<Hit> found)
    {
        var from = 0;
        while (from < text.Length)
        {
            var i = text[from..].IndexOf("-----BEGIN "u8);
            if (i < 0)
                return;
            var start = from + i;
            var headerEnd = text[(start + 11)..].IndexOf("-----"u8);
            if (headerEnd < 0 || headerEnd > 64)
            {
                from = start + 11;
                continue;
            }

            var label = text.Slice(start + 11, headerEnd);
            var bodyStart = start + 11 + headerEnd + 5;
            if (!label.EndsWith("PRIVATE KEY"u8))
            {
                from = bodyStart;
                continue;
            }

            var close = text[bodyStart..].IndexOf("-----END "u8);
            var bodyEnd = close < 0 ? text.Length : bodyStart + close;
            if (bodyEnd > bodyStart)
                found.Add(new Hit(bodyStart, bodyEnd, PrivateKey));
            from = bodyEnd + 1;
        }
    }
}

using System.Security.Cryptography;

namespace Platform.Api.Webhooks;

/// <summary>
/// The platform's first scheme (<c>platform-v1</c>), kept by subscriptions created before Standard Webhooks:
/// <c>v1=</c> and the hex HMAC-SHA256 of "&lt;timestamp&gt;.&lt;body&gt;" keyed with the secret's UTF-8 bytes.
/// </summary>
public static class WebhookSignature
{
    public const string IdHeader = "Platform-Webhook-Id";
    public const string TimestampHeader = "Platform-Webhook-Timestamp";
    public const string SignatureHeader = "Platform-Webhook-Signature";

    /// <summary>Its secrets: not given, one like the platform always generated for it; given, at least 32 characters (the spec's minLength).</summary>
    public static string NewSecret() => Secrets.New(StandardWebhookSignature.SecretPrefix);

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body) =>
        "v1=" + Convert.ToHexStringLower(WebhookSigning.Hmac(Encoding.UTF8.GetBytes(secret), $"{timestamp.ToString(CultureInfo.InvariantCulture)}.", body));

    /// <summary>
    /// What a receiver does: one of the space-separated signatures (two during a rotation's overlap) matches, compared
    /// in constant time, and the timestamp is within <paramref name="tolerance"/> of now.
    /// </summary>
    public static bool Verify(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || signature is null)
            return false;
        if ((now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > tolerance)
            return false;
        var expected = Encoding.ASCII.GetBytes(Sign(secret, seconds, body));
        var matched = false;
        foreach (var candidate in signature.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            matched |= CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(candidate));
        return matched;
    }
}

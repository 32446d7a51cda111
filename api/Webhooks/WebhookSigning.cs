using System.Security.Cryptography;

namespace Platform.Api.Webhooks;

/// <summary>
/// How a subscription's deliveries are signed: the headers of its scheme, each attempt signed anew at send time,
/// with the previous secret's signature after the current one's while a rotation's overlap runs.
/// </summary>
public static class WebhookSigning
{
    public static string NewSecret(WebhookSignatureScheme scheme) =>
        scheme == WebhookSignatureScheme.PlatformV1 ? WebhookSignature.NewSecret() : StandardWebhookSignature.NewSecret();

    /// <summary>Whether a client's secret fits the scheme (platform-v1 takes any the spec's length limits allow).</summary>
    public static bool SecretFits(WebhookSignatureScheme scheme, string secret) =>
        scheme == WebhookSignatureScheme.PlatformV1 || StandardWebhookSignature.IsSecret(secret);

    /// <summary>The secrets a delivery is signed with at <paramref name="now"/>: the current one, then the previous one until its overlap ends.</summary>
    public static IReadOnlyList<string> ValidSecrets(WebhookRow webhook, DateTimeOffset now) =>
        webhook.PreviousSecret is { } previous && webhook.PreviousSecretExpiresAt > now ? [webhook.Secret, previous] : [webhook.Secret];

    /// <summary>HMAC-SHA256 of <paramref name="prefix"/> (UTF-8) followed by the raw body: what both schemes sign, with their own prefix and key.</summary>
    public static byte[] Hmac(byte[] key, string prefix, ReadOnlySpan<byte> body)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(Encoding.UTF8.GetBytes(prefix));
        hmac.AppendData(body);
        return hmac.GetHashAndReset();
    }

    public static IReadOnlyList<(string Name, string Value)> Headers(WebhookRow webhook, string deliveryId, DateTimeOffset now, byte[] body)
    {
        var timestamp = now.ToUnixTimeSeconds();
        var secrets = ValidSecrets(webhook, now);
        var seconds = timestamp.ToString(CultureInfo.InvariantCulture);
        return webhook.Scheme == WebhookSignatureScheme.PlatformV1
            ?
            [
                (WebhookSignature.IdHeader, deliveryId), (WebhookSignature.TimestampHeader, seconds),
                (WebhookSignature.SignatureHeader, string.Join(' ', secrets.Select(s => WebhookSignature.Sign(s, timestamp, body)))),
            ]
            :
            [
                (StandardWebhookSignature.IdHeader, deliveryId), (StandardWebhookSignature.TimestampHeader, seconds),
                (StandardWebhookSignature.SignatureHeader, string.Join(' ', secrets.Select(s => StandardWebhookSignature.Sign(s, deliveryId, timestamp, body)))),
            ];
    }
}

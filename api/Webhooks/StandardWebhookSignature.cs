using System.Buffers.Text;
using System.Security.Cryptography;

namespace Platform.Api.Webhooks;

/// <summary>
/// Standard Webhooks 1.0 (<c>standard-webhooks</c>, the default): <c>v1,</c> and the base64 HMAC-SHA256 of
/// "&lt;id&gt;.&lt;timestamp&gt;.&lt;body&gt;" keyed with the base64-decoded part of <c>whsec_&lt;base64&gt;</c>, so that
/// receivers verify with any Standard Webhooks library.
/// </summary>
public static class StandardWebhookSignature
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    public const string SecretPrefix = "whsec_";

    /// <summary>The key sizes the specification allows (24 to 64 bytes); generated keys take 32, HMAC-SHA256's block-sized sweet spot.</summary>
    private const int MinKeyBytes = 24, MaxKeyBytes = 64, NewKeyBytes = 32;

    public static readonly string SecretRule = $"'{SecretPrefix}' and the base64 of {MinKeyBytes} to {MaxKeyBytes} random bytes";

    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(NewKeyBytes));

    /// <summary>Whether <paramref name="secret"/> is a Standard Webhooks secret (<see cref="SecretRule"/>).</summary>
    public static bool IsSecret(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
            return false;
        var encoded = secret.AsSpan(SecretPrefix.Length);
        // Base64.IsValid allows whitespace, which libraries that decode strictly would refuse.
        return !encoded.ContainsAny(" \t\r\n") && Base64.IsValid(encoded, out var length) && length is >= MinKeyBytes and <= MaxKeyBytes;
    }

    public static string Sign(string secret, string id, long timestamp, ReadOnlySpan<byte> body) =>
        "v1," + Convert.ToBase64String(WebhookSigning.Hmac(Convert.FromBase64String(secret[SecretPrefix.Length..]), $"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.", body));
}

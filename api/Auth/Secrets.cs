using System.Buffers.Text;
using System.Security.Cryptography;

namespace Platform.Api.Auth;

/// <summary>
/// Bearer secrets: 256 random bits behind a prefix that says what they are (<c>plt_</c> API token,
/// <c>ple_</c> enrollment token). Only a SHA-256 hash is stored: the secrets are random, so a slow hash adds nothing.
/// </summary>
public static class Secrets
{
    public const string ApiTokenPrefix = "plt_";
    public const string EnrollmentTokenPrefix = "ple_";

    /// <summary>Characters of a secret kept in clear, to recognise it in a vault or a leak report.</summary>
    private const int DisplayLength = 8;

    public static string New(string prefix) => prefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static string Display(string secret) => secret[..Math.Min(DisplayLength, secret.Length)];
}

using System.Security.Cryptography;
using Platform.Bundles;

namespace Platform.WebConsole.Incidents;

/// <summary>
/// What the console checked of a bundle it downloaded, before saving it: the zip's SHA-256 against the API's Repr-Digest,
/// and the bundle itself with the verifier platformctl uses (every entry against the manifest, the manifest's Ed25519
/// signature against the keys this API serves, never the one the bundle carries).
/// </summary>
public sealed record BundleCheck(string Sha256, string? Digest, bool DigestMatches, int Entries, string State, string Signature, IReadOnlyList<string> Problems)
{
    /// <summary>The assemblies <see cref="Of"/> needs, loaded on first use (the project file lists them as lazy).</summary>
    public static readonly string[] Assemblies = ["Platform.Bundles.wasm", "BouncyCastle.Cryptography.wasm"];

    public static BundleCheck Of(byte[] zip, HttpResponseMessage response, SigningKeyList keys)
    {
        var sha256 = SHA256.HashData(zip);
        var digest = response.Headers.TryGetValues("Repr-Digest", out var values) ? string.Join(",", values) : null;
        var matches = digest is not null && digest.Contains($"sha-256=:{Convert.ToBase64String(sha256)}:", StringComparison.Ordinal);
        var state = response.Headers.TryGetValues("Bundle-State", out var states) ? string.Join(",", states) : "unknown";
        using var stream = new MemoryStream(zip, writable: false);
        var result = BundleVerifier.Verify(stream, TrustedKey.FromApi(keys));
        var signature = result.SignatureVerified ? $"verified: Ed25519 by key {result.KeyId}, which this API serves"
            : result.KeyId is null ? "not signed" : $"NOT verified (key {result.KeyId})";
        return new BundleCheck(Convert.ToHexStringLower(sha256), digest, matches, result.Entries, result.State ?? state, signature, result.Problems);
    }
}

using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Platform.Bundles;

/// <summary>A public key a bundle's signature is checked with; its id is the SHA-256 of its DER SubjectPublicKeyInfo, as the api computes it.</summary>
public sealed record TrustedKey(string KeyId, Ed25519PublicKeyParameters Key)
{
    /// <summary>The key in a PEM public key; a <see cref="FormatException"/> naming <paramref name="source"/> when it is not an Ed25519 one.</summary>
    public static TrustedKey FromPem(string pem, string source)
    {
        try
        {
            var fields = PemEncoding.Find(pem);
            if (pem.AsSpan()[fields.Label].ToString() != "PUBLIC KEY")
                throw new FormatException($"{source}: expected a PEM public key ('-----BEGIN PUBLIC KEY-----').");
            var key = PublicKeyFactory.CreateKey(Convert.FromBase64String(pem[fields.Base64Data])) as Ed25519PublicKeyParameters
                ?? throw new FormatException($"{source}: not an Ed25519 public key.");
            var spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(key).GetDerEncoded();
            return new TrustedKey(Convert.ToHexStringLower(SHA256.HashData(spki)), key);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidCastException or IOException or SecurityUtilityException
            || (ex is FormatException && !ex.Message.StartsWith(source, StringComparison.Ordinal)))
        {
            throw new FormatException($"{source}: not a PEM Ed25519 public key ({ex.Message}).", ex);
        }
    }

    /// <summary>
    /// The keys the api serves (listSigningKeys), each checked to have the id the api gives it: what a bundle downloaded from
    /// that api is checked with when no key is given (never the key the bundle carries).
    /// </summary>
    public static IReadOnlyList<TrustedKey> FromApi(Platform.Contracts.SigningKeyList keys) => [.. keys.Items.Select(k =>
    {
        var key = FromPem(k.PublicKeyPem, "the api's signing key " + k.KeyId);
        return key.KeyId == k.KeyId ? key : throw new FormatException($"the api's signing key {k.KeyId} has the id {key.KeyId}: not trusted.");
    })];

    public bool Verifies(byte[] data, byte[] signature)
    {
        var verifier = new Ed25519Signer();
        verifier.Init(false, Key);
        verifier.BlockUpdate(data, 0, data.Length);
        return verifier.VerifySignature(signature);
    }
}

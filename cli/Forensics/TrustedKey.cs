using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Platform.Cli.Forensics;

/// <summary>A public key a bundle's signature is checked with; its id is the SHA-256 of its DER SubjectPublicKeyInfo, as the api computes it.</summary>
public sealed record TrustedKey(string KeyId, Ed25519PublicKeyParameters Key)
{
    public static TrustedKey FromPem(string pem, string source)
    {
        try
        {
            var fields = PemEncoding.Find(pem);
            if (pem.AsSpan()[fields.Label].ToString() != "PUBLIC KEY")
                throw new CliException($"{source}: expected a PEM public key ('-----BEGIN PUBLIC KEY-----').", ExitCodes.Usage);
            var key = PublicKeyFactory.CreateKey(Convert.FromBase64String(pem[fields.Base64Data])) as Ed25519PublicKeyParameters
                ?? throw new CliException($"{source}: not an Ed25519 public key.", ExitCodes.Usage);
            var spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(key).GetDerEncoded();
            return new TrustedKey(Convert.ToHexStringLower(SHA256.HashData(spki)), key);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or IOException or SecurityUtilityException)
        {
            throw new CliException($"{source}: not a PEM Ed25519 public key ({ex.Message}).", ExitCodes.Usage);
        }
    }

    public bool Verifies(byte[] data, byte[] signature)
    {
        var verifier = new Ed25519Signer();
        verifier.Init(false, Key);
        verifier.BlockUpdate(data, 0, data.Length);
        return verifier.VerifySignature(signature);
    }
}

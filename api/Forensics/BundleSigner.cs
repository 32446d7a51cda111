using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Platform.Api.Forensics;

/// <summary>
/// Signs bundle manifests with Ed25519 (deterministic: the same manifest and key give the same signature, so two
/// instances sharing a key build byte-identical bundles). The key comes from configuration, or is made at first start
/// into the data directory (mode 0600) and read from there afterwards. Its id is the SHA-256 of the public key's DER
/// SubjectPublicKeyInfo: <c>openssl pkey -pubin -in key.pem -outform DER | sha256sum</c>.
/// </summary>
public sealed class BundleSigner
{
    public const string Algorithm = "Ed25519";
    public const string KeyFileName = "bundle-signing-key.pem";

    private static readonly byte[] Pkcs8Ed25519Prefix = Convert.FromHexString("302e020100300506032b657004220420");

    private readonly Ed25519PrivateKeyParameters _privateKey;

    private BundleSigner(Ed25519PrivateKeyParameters privateKey)
    {
        _privateKey = privateKey;
        var spki = SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(privateKey.GeneratePublicKey()).GetDerEncoded();
        KeyId = Convert.ToHexStringLower(SHA256.HashData(spki));
        PublicKeyPem = PemEncoding.WriteString("PUBLIC KEY", spki) + "\n";
    }

    public string KeyId { get; }

    /// <summary>The public key as PEM (SubjectPublicKeyInfo), as openssl reads it with <c>-pubin</c>.</summary>
    public string PublicKeyPem { get; }

    /// <summary>The 64-byte Ed25519 signature of the data.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _privateKey);
        signer.BlockUpdate(data);
        return signer.GenerateSignature();
    }

    public static BundleSigner Load(SigningOptions options, DataDirectory data, ILogger logger)
    {
        var path = options.PrivateKeyPath;
        var inline = options.PrivateKeyPem;
        if (!string.IsNullOrWhiteSpace(path) && !string.IsNullOrWhiteSpace(inline))
            throw new InvalidOperationException($"{SigningOptions.Section}: give PrivateKeyPath or PrivateKeyPem, not both.");
        if (!string.IsNullOrWhiteSpace(inline))
            return new BundleSigner(Parse(inline, $"{SigningOptions.Section}:PrivateKeyPem"));
        if (!string.IsNullOrWhiteSpace(path))
        {
            if (!File.Exists(path))
                throw new InvalidOperationException($"{SigningOptions.Section}:PrivateKeyPath: there is no file '{path}'.");
            return new BundleSigner(Parse(File.ReadAllText(path), $"{SigningOptions.Section}:PrivateKeyPath"));
        }

        var own = Path.Combine(data.Path, KeyFileName);
        if (!File.Exists(own))
            Create(own, logger);
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(own) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            logger.LogWarning("The bundle signing key {Path} can be read by others than its owner: chmod 600 it", own);
        return new BundleSigner(Parse(File.ReadAllText(own), own));
    }

    /// <summary>A new key, written whole (0600) under a temporary name and moved into place: an instance starting at the same time on the same directory keeps the first.</summary>
    private static void Create(string path, ILogger logger)
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var key = (Ed25519PrivateKeyParameters)generator.GenerateKeyPair().Private;
        // RFC 8410's PKCS#8 form, as openssl genpkey writes it (version 0, no public key attribute): OpenSSL 3.0 does
        // not read the version 1 form BouncyCastle's PrivateKeyInfoFactory writes.
        var pem = PemEncoding.WriteString("PRIVATE KEY", [.. Pkcs8Ed25519Prefix, .. key.GetEncoded()]) + "\n";
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var file = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temporary, file))
        {
            stream.Write(Encoding.ASCII.GetBytes(pem));
            stream.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
            logger.LogInformation("Made the bundle signing key {Path}", path);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
    }

    private static Ed25519PrivateKeyParameters Parse(string pem, string source)
    {
        try
        {
            var fields = PemEncoding.Find(pem);
            if (pem.AsSpan()[fields.Label].ToString() != "PRIVATE KEY")
                throw new InvalidOperationException($"{source}: expected a PKCS#8 PEM ('-----BEGIN PRIVATE KEY-----') Ed25519 key.");
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            return PrivateKeyFactory.CreateKey(der) as Ed25519PrivateKeyParameters
                ?? throw new InvalidOperationException($"{source}: the key is not an Ed25519 key.");
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or CryptographicException or InvalidCastException or IOException or Org.BouncyCastle.Security.SecurityUtilityException)
        {
            throw new InvalidOperationException($"{source}: not a PEM Ed25519 private key.", ex);
        }
    }
}

namespace Platform.Api.Forensics;

/// <summary>Bound from <c>Platform:Signing</c>: where the bundle signing key comes from (docs/bundle-format.md).</summary>
public sealed class SigningOptions
{
    public const string Section = "Platform:Signing";

    /// <summary>A PKCS#8 PEM Ed25519 private key file (<c>openssl genpkey -algorithm ed25519</c>), for instances that share one key.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>The same PEM given inline (an environment variable or a secret store).</summary>
    public string? PrivateKeyPem { get; set; }

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (!string.IsNullOrWhiteSpace(PrivateKeyPath) && !string.IsNullOrWhiteSpace(PrivateKeyPem))
            yield return $"{Section}: give PrivateKeyPath or PrivateKeyPem, not both.";
        else if (!string.IsNullOrWhiteSpace(PrivateKeyPath) && !File.Exists(PrivateKeyPath))
            yield return $"{Section}:PrivateKeyPath: there is no file '{PrivateKeyPath}'.";
    }
}

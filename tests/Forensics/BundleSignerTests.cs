using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Api.Forensics;
using Platform.Api.Storage;

namespace Platform.Tests.Forensics;

/// <summary>The bundle signing key: made at first start, or given by configuration; openssl reads what the api writes and the api what openssl makes.</summary>
public sealed class BundleSignerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bundle-signer-").FullName;

    private DataDirectory Data => new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Platform:DataDirectory"] = _directory }).Build());

    private static async Task<string> Openssl(params string[] args)
    {
        using var openssl = Process.Start(new ProcessStartInfo("openssl", args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await openssl.StandardOutput.ReadToEndAsync();
        var error = await openssl.StandardError.ReadToEndAsync();
        await openssl.WaitForExitAsync();
        Assert.True(openssl.ExitCode == 0, error);
        return output;
    }

    [Fact]
    public async Task The_key_made_at_first_start_is_kept_0600_read_again_and_readable_by_openssl()
    {
        var made = BundleSigner.Load(new SigningOptions(), Data, NullLogger.Instance);
        var again = BundleSigner.Load(new SigningOptions(), Data, NullLogger.Instance);
        var file = Path.Combine(_directory, BundleSigner.KeyFileName);

        Assert.Equal(made.KeyId, again.KeyId);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(made.PublicKeyPem.Trim(), (await Openssl("pkey", "-in", file, "-pubout")).Trim());
        Assert.Single(Directory.GetFiles(_directory)); // no temporary file left behind
    }

    [Fact]
    public async Task A_key_made_by_openssl_is_used_from_a_path_or_inline_and_its_id_is_the_sha256_openssl_computes()
    {
        var file = Path.Combine(_directory, "given.pem");
        await Openssl("genpkey", "-algorithm", "ed25519", "-out", file);
        var fromPath = BundleSigner.Load(new SigningOptions { PrivateKeyPath = file }, Data, NullLogger.Instance);
        var inline = BundleSigner.Load(new SigningOptions { PrivateKeyPem = await File.ReadAllTextAsync(file) }, Data, NullLogger.Instance);

        Assert.Equal(fromPath.KeyId, inline.KeyId);
        var publicKey = Path.Combine(_directory, "public.pem");
        await Openssl("pkey", "-in", file, "-pubout", "-out", publicKey);
        var der = Path.Combine(_directory, "public.der");
        await Openssl("pkey", "-pubin", "-in", publicKey, "-outform", "DER", "-out", der);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(der))), fromPath.KeyId);
        Assert.False(File.Exists(Path.Combine(_directory, BundleSigner.KeyFileName))); // a given key: none is made

        // Deterministic, and openssl verifies it.
        var data = "{\"formatVersion\":\"1\"}\n"u8.ToArray();
        Assert.Equal(fromPath.Sign(data), inline.Sign(data));
        await File.WriteAllBytesAsync(Path.Combine(_directory, "m.json"), data);
        await File.WriteAllBytesAsync(Path.Combine(_directory, "m.sig"), fromPath.Sign(data));
        Assert.Contains("Signature Verified Successfully", await Openssl("pkeyutl", "-verify", "-pubin", "-inkey", publicKey, "-rawin", "-in", Path.Combine(_directory, "m.json"), "-sigfile", Path.Combine(_directory, "m.sig")));
    }

    [Fact]
    public async Task A_bad_or_ambiguous_key_setting_stops_the_start_naming_the_setting()
    {
        var rsa = Path.Combine(_directory, "rsa.pem");
        await Openssl("genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", rsa);
        var cases = new (SigningOptions Options, string Named)[]
        {
            (new SigningOptions { PrivateKeyPem = "not a key" }, "Platform:Signing:PrivateKeyPem"),
            (new SigningOptions { PrivateKeyPem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAvLDcIPvMJPuDiwqtWZ3dthgm7IcYYvvm6pzdrjtKiIY=\n-----END PUBLIC KEY-----\n" }, "Platform:Signing:PrivateKeyPem"),
            (new SigningOptions { PrivateKeyPath = rsa }, "Platform:Signing:PrivateKeyPath"),
            (new SigningOptions { PrivateKeyPath = Path.Combine(_directory, "missing.pem") }, "Platform:Signing:PrivateKeyPath"),
            (new SigningOptions { PrivateKeyPath = rsa, PrivateKeyPem = "x" }, "Platform:Signing"),
        };
        foreach (var (options, named) in cases)
        {
            var refused = Assert.Throws<InvalidOperationException>(() => BundleSigner.Load(options, Data, NullLogger.Instance));
            Assert.Contains(named, refused.Message);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

using System.IO.Compression;
using System.Security.Cryptography;

using System.Text.Json;

namespace Platform.Bundles;

/// <summary>
/// A forensic bundle checked (docs/bundle-format.md): the zip is whole; <c>manifest.sig</c> is an Ed25519 signature of
/// <c>manifest.json</c>'s bytes by a trusted key (never the key the bundle carries: a forger would carry their own);
/// every entry the manifest lists is there once, with its size and SHA-256; and nothing is there that it does not list.
/// </summary>
public static class BundleVerifier
{
    public const string ManifestEntry = "manifest.json";
    public const string SignatureEntry = "manifest.sig";

    /// <summary>manifest.json is small (a few entries and gaps); a larger one is refused before it is read.</summary>
    private const long MaxManifestBytes = 16 * 1024 * 1024;

    /// <summary>What was checked; <paramref name="SignatureVerified"/> says the manifest is a trusted key's, whatever else is wrong.</summary>
    public sealed record Result(int Entries, long? Events, string? Resource, string? KeyId, string? State, IReadOnlyList<string> Problems, bool SignatureVerified = false)
    {
        public bool Verified => Problems.Count == 0;
    }

    public static Result Verify(string path, IReadOnlyCollection<TrustedKey> trusted)
    {
        using var file = File.OpenRead(path);
        return Verify(file, trusted);
    }

    /// <summary>A bundle in a seekable stream (a file, or the bytes the console downloaded).</summary>
    public static Result Verify(Stream bundle, IReadOnlyCollection<TrustedKey> trusted)
    {
        try
        {
            using var zip = new ZipArchive(bundle, ZipArchiveMode.Read, leaveOpen: true);
            var problems = new List<string>();
            foreach (var twice in zip.Entries.GroupBy(e => e.FullName, StringComparer.Ordinal).Where(g => g.Count() > 1))
                problems.Add($"{twice.Key}: in the zip {twice.Count()} times");
            var manifestEntry = zip.GetEntry(ManifestEntry);
            if (manifestEntry is null)
                return new Result(0, null, null, null, null, ["there is no manifest.json", .. problems]);
            if (manifestEntry.Length > MaxManifestBytes)
                return new Result(0, null, null, null, null, [$"manifest.json is {manifestEntry.Length} bytes, more than a manifest can be", .. problems]);
            var manifestBytes = Read(manifestEntry);
            using var manifest = JsonDocument.Parse(manifestBytes);
            var root = manifest.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new Result(0, null, null, null, null, ["manifest.json is not a JSON object", .. problems]);

            var (keyId, signed) = CheckSignature(zip, root, manifestBytes, trusted, problems);

            var listed = new HashSet<string>(StringComparer.Ordinal);
            if (!root.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array)
                return new Result(0, null, null, keyId, null, ["manifest.json has no entries list", .. problems], signed);
            foreach (var entry in entries.EnumerateArray())
            {
                var name = entry.GetProperty("name").GetString() ?? "";
                if (!listed.Add(name) || name is ManifestEntry or SignatureEntry)
                {
                    problems.Add($"{name}: listed in the manifest twice, or a name the manifest cannot list");
                    continue;
                }

                var file = zip.GetEntry(name);
                if (file is null)
                {
                    problems.Add($"{name}: listed in the manifest but missing");
                    continue;
                }

                var (size, sha256) = Measure(file);
                if (entry.TryGetProperty("size", out var expectedSize) && expectedSize.GetInt64() != size)
                    problems.Add($"{name}: {size} bytes, the manifest says {expectedSize.GetInt64()}");
                if (!string.Equals(entry.GetProperty("sha256").GetString(), sha256, StringComparison.OrdinalIgnoreCase))
                    problems.Add($"{name}: SHA-256 {sha256} does not match the manifest's {entry.GetProperty("sha256").GetString()}");
            }

            foreach (var extra in zip.Entries.Select(e => e.FullName).Distinct(StringComparer.Ordinal).Where(n => n is not ManifestEntry and not SignatureEntry && !listed.Contains(n)))
                problems.Add($"{extra}: in the zip but not in the manifest");

            long? events = root.TryGetProperty("counts", out var counts) && counts.TryGetProperty("events", out var count) ? count.GetInt64() : null;
            var resource = root.TryGetProperty("resource", out var r)
                ? string.Join(" ", new[] { "kind", "hostname", "containerId", "incidentId" }.Select(p => r.TryGetProperty(p, out var v) ? v.ToString() : null).Where(v => v is not null))
                : null;
            var state = root.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            return new Result(listed.Count, events, resource, keyId, state, problems, signed);
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IOException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return new Result(0, null, null, null, null, [$"not a whole bundle: {ex.Message}"]);
        }
    }

    /// <summary>The key id the manifest names, and whether its signature is that trusted key's.</summary>
    private static (string? KeyId, bool Verified) CheckSignature(ZipArchive zip, JsonElement root, byte[] manifestBytes, IReadOnlyCollection<TrustedKey> trusted, List<string> problems)
    {
        var keyId = root.TryGetProperty("signature", out var signature) && signature.ValueKind == JsonValueKind.Object
            && signature.TryGetProperty("keyId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        var algorithm = signature.ValueKind == JsonValueKind.Object && signature.TryGetProperty("algorithm", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        var signatureEntry = zip.GetEntry(SignatureEntry);
        if (keyId is null || signatureEntry is null)
        {
            problems.Add("the bundle is not signed (manifest.json names no signing key, or there is no manifest.sig)");
            return (keyId, false);
        }

        if (algorithm != "Ed25519")
            problems.Add($"manifest.json is signed with '{algorithm}', not Ed25519");
        if (signatureEntry.Length != 64)
        {
            problems.Add($"manifest.sig is {signatureEntry.Length} bytes; an Ed25519 signature is 64");
            return (keyId, false);
        }

        var key = trusted.FirstOrDefault(k => k.KeyId == keyId);
        if (key is null)
        {
            problems.Add($"manifest.json is signed by key {keyId}, which is not trusted (trusted: {string.Join(", ", trusted.Select(k => k.KeyId))})");
            return (keyId, false);
        }

        if (key.Verifies(manifestBytes, Read(signatureEntry)))
            return (keyId, algorithm == "Ed25519");
        problems.Add($"manifest.sig is not key {keyId}'s signature of this manifest.json: the manifest was changed or signed by another key");
        return (keyId, false);
    }

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static (long Size, string Sha256) Measure(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            size += read;
        }

        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }
}

using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Platform.Cli.Forensics;

/// <summary>
/// A forensic bundle checked against its manifest (docs/bundle-format.md): the zip is whole, every entry the
/// manifest lists is there with its size and SHA-256, and nothing is there that the manifest does not list.
/// </summary>
public static class BundleVerifier
{
    public sealed record Result(int Entries, long? Events, string? Resource, IReadOnlyList<string> Problems)
    {
        public bool Verified => Problems.Count == 0;
    }

    public static Result Verify(string path)
    {
        try
        {
            using var zip = ZipFile.OpenRead(path);
            var manifestEntry = zip.GetEntry("manifest.json");
            if (manifestEntry is null)
                return new Result(0, null, null, ["there is no manifest.json"]);
            JsonDocument manifest;
            using (var stream = manifestEntry.Open())
                manifest = JsonDocument.Parse(stream);
            using (manifest)
            {
                var problems = new List<string>();
                var listed = new HashSet<string>(StringComparer.Ordinal);
                if (!manifest.RootElement.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array)
                    return new Result(0, null, null, ["manifest.json has no entries list"]);
                foreach (var entry in entries.EnumerateArray())
                {
                    var name = entry.GetProperty("name").GetString() ?? "";
                    listed.Add(name);
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

                foreach (var extra in zip.Entries.Where(e => e.FullName != "manifest.json" && !listed.Contains(e.FullName)))
                    problems.Add($"{extra.FullName}: in the zip but not in the manifest");

                var root = manifest.RootElement;
                long? events = root.TryGetProperty("counts", out var counts) && counts.TryGetProperty("events", out var count) ? count.GetInt64() : null;
                var resource = root.TryGetProperty("resource", out var r)
                    ? string.Join(" ", new[] { "kind", "hostname", "containerId", "incidentId" }.Select(p => r.TryGetProperty(p, out var v) ? v.ToString() : null).Where(v => v is not null))
                    : null;
                return new Result(listed.Count, events, resource, problems);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IOException or KeyNotFoundException or InvalidOperationException)
        {
            return new Result(0, null, null, [$"not a whole bundle: {ex.Message}"]);
        }
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

using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Agent.Fim;

/// <summary>Reading the protected files (hash, size, mode, link target) and what a comparison reports about them.</summary>
public sealed partial class FimBaseline
{
    /// <summary>A rule path's result: the worst of its files' (changed, missing, unreadable, match); missing when there is nothing.</summary>
    private static FimBaselineResult Worst(HashSet<FimBaselineResult> results, FimRuleMatcher.WatchedPath watched) =>
        results.Count == 0
            ? Directory.Exists(watched.Spec) ? FimBaselineResult.Match : FimBaselineResult.Missing
            : new[] { FimBaselineResult.Changed, FimBaselineResult.Missing, FimBaselineResult.Unreadable }.FirstOrDefault(results.Contains, FimBaselineResult.Match);

    /// <summary>The files of a rule path, and the symbolic links among them (compared as links: never followed, never recursed into).</summary>
    private IEnumerable<string> Files(FimRuleMatcher.WatchedPath watched)
    {
        if (!Directory.Exists(watched.Root))
            return [];
        var entries = new System.IO.Enumeration.FileSystemEnumerable<string>(
            watched.Root,
            (ref System.IO.Enumeration.FileSystemEntry e) => e.ToFullPath(),
            new EnumerationOptions { RecurseSubdirectories = watched.Recursive, IgnoreInaccessible = true, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.IsDirectory || e.Attributes.HasFlag(FileAttributes.ReparsePoint),
            ShouldRecursePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.Attributes.HasFlag(FileAttributes.ReparsePoint),
        };
        var files = entries
            .Where(f => watched.Covers(f) && !watched.Excluded.Any(x => x.IsMatch(f)))
            .Take(MaxFilesPerPath + 1)
            .ToList();
        if (files.Count > MaxFilesPerPath)
        {
            _log.LogWarning("FIM baseline: rule {Rule} covers more than {Max} files under {Root}; only the first {Max} are compared", watched.Rule.Name, MaxFilesPerPath, watched.Root, MaxFilesPerPath);
            files.RemoveAt(MaxFilesPerPath);
        }

        return files;
    }

    /// <summary>
    /// The file's state now, read once from start to end (the SHA-256 over its first <paramref name="prefix"/> bytes taken
    /// on the way: an append check costs no second read), and its modification time; a symbolic link as its target.
    /// </summary>
    private static (BaselineEntry Entry, string? Prefix, DateTimeOffset? Modified)? Read(string file, long? prefix, DateTimeOffset now)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            var info = new FileInfo(file);
            var identity = OperatingSystem.IsLinux() ? Sensor.InodeKey.Named(file) : null;
            if (info.LinkTarget is { } target)
            {
                var text = Encoding.UTF8.GetBytes(target);
                return (new BaselineEntry(Convert.ToHexStringLower(SHA256.HashData(text)), text.Length, "") { Taken = now, Link = target, Links = identity?.Links }, null, null);
            }

            var modified = new DateTimeOffset(info.LastWriteTimeUtc);
            using var stream = File.OpenRead(file);
            var mode = OperatingSystem.IsWindows() ? "" : Convert.ToString((int)File.GetUnixFileMode(stream.SafeFileHandle), 8).PadLeft(4, '0');
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            string? before = null;
            var read = 0L;
            while (true)
            {
                if (read == prefix)
                    before = Convert.ToHexStringLower(hash.GetCurrentHash());
                var want = prefix is { } p && read < p ? (int)Math.Min(buffer.Length, p - read) : buffer.Length;
                var got = stream.Read(buffer, 0, want);
                if (got == 0)
                    break;
                hash.AppendData(buffer, 0, got);
                read += got;
            }

            // The size is what was hashed (a file growing while read stays consistent with its hash).
            var entry = new BaselineEntry(Convert.ToHexStringLower(hash.GetHashAndReset()), read, mode)
            {
                Taken = now, Device = identity?.Key.Device, Inode = identity?.Key.Inode, Links = identity?.Links,
            };
            return (entry, before, modified);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FimBaselineCheck Check(FimRule rule, string file, FimBaselineResult result, DateTimeOffset now) =>
        new() { RuleId = rule.Id, Path = file, CheckedAt = now, Result = result };

    private static FimAlertReport Alert(FimRule rule, string file, FimOperation action, BaselineEntry? before, BaselineEntry? after, DateTimeOffset now, string why)
    {
        var alert = FimRuleMatcher.Alert(rule, file, action, now, why);
        (alert.Before, alert.After) = (State(before), State(after));
        return alert;
    }

    private static FimFileState? State(BaselineEntry? entry) => entry is null ? null : new FimFileState { Sha256 = entry.Sha256, Size = entry.Size, Mode = entry.Mode.Length == 0 ? null : entry.Mode };
}

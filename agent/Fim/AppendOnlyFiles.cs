using System.Security.Cryptography;

namespace Platform.Agent.Fim;

/// <summary>
/// The <c>allowAppend</c> check: the state (size, SHA-256) of each file an append-only rule covers, last looked at,
/// and whether a write since only added to the end (the old content unchanged: same SHA-256 over the old length).
/// The comparison is with the state last looked at: a rewrite that keeps that much of the start, made before the agent
/// looked again, passes as an append (only fanotify permission events, which stop the writer until checked, could close
/// that window). The agent's own reads of these files are marked (<see cref="OwnReads"/>): they are not read alerts.
/// Thread-safe: the inotify and the fanotify handlers both call it.
/// </summary>
public sealed class AppendOnlyFiles(OwnReads ownReads)
{
    private readonly Dictionary<string, FileState> _states = new(StringComparer.Ordinal);

    private sealed record FileState(long Size, byte[] Sha256);

    /// <summary>
    /// For an append-only file: true (and the states before and after in the report) unless the file only grew
    /// with its old content intact. The file's state moves on either way.
    /// </summary>
    public bool IsRewrite(string path, FimAlertReport report)
    {
        ownReads.Mark(path);
        var after = State(path);
        FileState? before;
        lock (_states)
        {
            _states.TryGetValue(path, out before);
            if (after is null)
                _states.Remove(path);
            else
                _states[path] = after;
        }

        if (before is not null && after is not null && after.Size >= before.Size && PrefixHash(path, before.Size) is { } prefix && prefix.AsSpan().SequenceEqual(before.Sha256))
            return false;
        report.Before = before is null ? null : new FimFileState { Size = before.Size, Sha256 = Convert.ToHexStringLower(before.Sha256) };
        report.After = after is null ? null : new FimFileState { Size = after.Size, Sha256 = Convert.ToHexStringLower(after.Sha256) };
        return true;
    }

    private static FileState? State(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            var (size, sha256) = Hash(file, long.MaxValue);
            return new FileState(size, sha256);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static byte[]? PrefixHash(string path, long length)
    {
        try
        {
            using var file = File.OpenRead(path);
            var (size, sha256) = Hash(file, length);
            return size == length ? sha256 : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The SHA-256 of the first <paramref name="limit"/> bytes of <paramref name="file"/> (all of it, when shorter) and how
    /// many that was, from one pass. The size is what was hashed, not the file's length when it was opened: a file
    /// appended to while it is read (a writer racing the check) would otherwise give the old length with the hash of
    /// more, and its next append would look like a rewrite.
    /// </summary>
    public static (long Size, byte[] Sha256) Hash(Stream file, long limit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        while (size < limit)
        {
            var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - size));
            if (read == 0)
                break;
            hash.AppendData(buffer, 0, read);
            size += read;
        }

        return (size, hash.GetHashAndReset());
    }

    /// <summary>The states of the files <paramref name="watched"/> covers now, before any write is looked at.</summary>
    public void Baseline(FimRuleMatcher.WatchedPath watched)
    {
        // The root is always a directory (a file rule's is the file's directory); Covers picks the rule's files in it.
        IEnumerable<string> files = Directory.Exists(watched.Root)
            ? Directory.EnumerateFiles(watched.Root, "*", new EnumerationOptions { RecurseSubdirectories = watched.Recursive, IgnoreInaccessible = true })
            : [];
        foreach (var file in files.Where(watched.Covers))
        {
            ownReads.Mark(file);
            if (State(file) is { } state)
            {
                lock (_states)
                    _states[file] = state;
            }
        }
    }
}

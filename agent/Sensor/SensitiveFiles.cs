using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>
/// The sensitive paths (FIM globs, <see cref="SensorOptions.SensitivePaths"/>) as the kernel can look them up when a file
/// is opened: the inodes of the files that match them now (found by walking the globs' directories: a hard link or a
/// symlink to one is the same inode), and names for files that may appear anywhere or later: a basename
/// (<c>/etc/shadow</c>: <c>shadow</c>, also inside a container's own root), an extension (<c>/**/*.pem</c>: <c>.pem</c>) or
/// the name of a directory above (<c>/**/.azure/**</c>: <c>.azure</c>). A name is a candidate only: the path the kernel
/// resolved must match a glob (<see cref="PathOf"/>).
/// </summary>
public sealed class SensitiveFiles
{
    /// <summary>The kernel's inode map holds at most this many (files.bpf.h <c>sensitive_inodes</c>).</summary>
    public const int MaxInodes = 65536;

    /// <summary>Longest name key, in UTF-8 bytes (files.bpf.h <c>FILE_NAME_KEY</c> less its NUL).</summary>
    public const int MaxNameBytes = 62;

    /// <summary>Longest extension the kernel reads (the last 15 bytes of a name).</summary>
    private const int MaxExtensionBytes = 15;

    /// <summary>How deep a <c>**</c> under a fixed directory (<c>/run/secrets/**</c>) is walked for existing files.</summary>
    private const int MaxDepth = 8;

    private readonly FimGlob _any;
    private readonly FimGlob? _notSecret;
    private readonly List<string> _walked = [];
    private Dictionary<InodeKey, string> _inodes = [];

    /// <param name="notSecret">Files that match by name but hold nothing secret (CA certificate bundles): never reported.</param>
    public SensitiveFiles(IEnumerable<string> globs, IEnumerable<string>? notSecret = null)
    {
        var list = globs.ToList();
        _any = FimGlob.AnyPath(list);
        _notSecret = notSecret?.ToList() is { Count: > 0 } excluded ? FimGlob.AnyPath(excluded) : null;
        var names = new HashSet<NameKey>();
        foreach (var glob in list)
        {
            if (NameOf(glob) is { } name)
                names.Add(name);
            if (!glob.StartsWith("/**", StringComparison.Ordinal))
                _walked.Add(glob);
        }

        Names = [.. names];
    }

    /// <summary>The name candidates the kernel looks up (files.bpf.h <c>sensitive_names</c>).</summary>
    public IReadOnlyList<NameKey> Names { get; }

    /// <summary>The files found by the last <see cref="Scan"/>: their inode and the path that matched.</summary>
    public IReadOnlyDictionary<InodeKey, string> Inodes => Volatile.Read(ref _inodes);

    /// <summary>The existing files that match a glob with a fixed start (at most <see cref="MaxInodes"/>), by inode.</summary>
    public IReadOnlyDictionary<InodeKey, string> Scan()
    {
        var found = new Dictionary<InodeKey, string>();
        foreach (var glob in _walked)
        {
            foreach (var path in Expand(glob))
            {
                if (found.Count >= MaxInodes)
                    break;
                if (_notSecret?.IsMatch(path) != true && InodeKey.Of(path) is { } key)
                    found.TryAdd(key, path);
            }
        }

        Volatile.Write(ref _inodes, found);
        return found;
    }

    /// <summary>
    /// The path to report for an open the kernel sent: the path it resolved when a glob matches it; for a file found by
    /// its inode under another name (a hard link), the name that matched when it was found; otherwise null (a name
    /// candidate that is not sensitive).
    /// </summary>
    public string? PathOf(in FileOpenRecord record, string? resolved)
    {
        if (resolved is not null && _notSecret?.IsMatch(resolved) == true)
            return null;
        if (resolved is not null && _any.IsMatch(resolved))
            return resolved;
        return record.Match == FileOpenRecord.InodeMatch && Inodes.TryGetValue(record.Key, out var known) ? known : null;
    }

    /// <summary>The name the kernel can look a glob's files up by, or null when it has none to offer.</summary>
    public static NameKey? NameOf(string glob)
    {
        var segments = glob.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
            return null;
        var last = segments[^1];
        if (!HasWildcard(last))
            return Key(NameKind.Basename, last);
        if (last.StartsWith('*') && last.LastIndexOf('.') is var dot and > 0 && !HasWildcard(last[dot..]) && last[1..dot].All(c => c == '*'))
        {
            var extension = last[dot..];
            return Encoding.UTF8.GetByteCount(extension) <= MaxExtensionBytes ? Key(NameKind.Extension, extension) : null;
        }

        // The nearest fixed directory above the wildcards (/root/.ssh/*: .ssh; /**/.azure/**: .azure).
        for (var i = segments.Length - 2; i >= 0; i--)
        {
            if (!HasWildcard(segments[i]))
                return segments.Length - 1 - i <= MaxDepth || segments[^1] == "**" ? Key(NameKind.Directory, segments[i]) : null;
        }

        return null;
    }

    private static NameKey? Key(NameKind kind, string name) => Encoding.UTF8.GetByteCount(name) <= MaxNameBytes ? new NameKey(kind, name) : null;

    private static bool HasWildcard(string segment) => segment.AsSpan().IndexOfAny("*?[]") >= 0;

    /// <summary>The existing paths a glob matches, walking only the directories its segments allow.</summary>
    private static IEnumerable<string> Expand(string glob)
    {
        var segments = glob.Split('/', StringSplitOptions.RemoveEmptyEntries);
        IEnumerable<string> current = ["/"];
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            if (segment.Contains("**", StringComparison.Ordinal))
            {
                // Everything below, checked against the whole glob.
                var whole = FimGlob.Path(glob);
                return current.SelectMany(directory => Walk(directory)).Where(whole.IsMatch);
            }

            if (!HasWildcard(segment))
            {
                current = current.Select(directory => Path.Join(directory, segment));
                continue;
            }

            var pattern = FimGlob.Path(segment);
            current = current.SelectMany(directory => Entries(directory, directories: !last)).Where(path => pattern.IsMatch(Path.GetFileName(path)));
        }

        return current.Where(File.Exists);
    }

    private static readonly EnumerationOptions Listing = new() { IgnoreInaccessible = true, AttributesToSkip = 0, ReturnSpecialDirectories = false };

    private static IEnumerable<string> Entries(string directory, bool directories)
    {
        if (!Directory.Exists(directory))
            return [];
        try
        {
            return directories ? Directory.EnumerateDirectories(directory, "*", Listing).ToList() : Directory.EnumerateFileSystemEntries(directory, "*", Listing).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static IEnumerable<string> Walk(string directory)
    {
        if (!Directory.Exists(directory))
            return [];
        try
        {
            var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth };
            return Directory.EnumerateFiles(directory, "*", options).Take(MaxInodes).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

/// <summary>How the kernel compares a name candidate (files.bpf.h <c>FILE_MATCH_*</c>).</summary>
public enum NameKind : byte
{
    Basename = 2,
    Extension = 3,
    Directory = 4,
}

/// <summary>A name candidate: a file's basename, its extension (with its dot) or the name of a directory above it.</summary>
public readonly record struct NameKey(NameKind Kind, string Name)
{
    /// <summary>The kernel's key (struct file_name_key): the kind, then the name's UTF-8 bytes, zero-filled.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[64];
        bytes[0] = (byte)Kind;
        Encoding.UTF8.GetBytes(Name, bytes.AsSpan(1, SensitiveFiles.MaxNameBytes));
        return bytes;
    }
}

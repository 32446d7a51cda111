namespace Platform.Agent.Fim;

/// <summary>
/// A rule's process exclusions as the executables they name, so that an exclusion matches the program the kernel
/// runs and never a name the process chose: its <c>comm</c> (set by whoever copies <c>/bin/sh</c> to
/// <c>/tmp/logrotate</c>, or by <c>prctl</c>), <c>argv[0]</c>, or the path it was started by (a symlink, or a path in a
/// container's own filesystem). An absolute entry is that file, and where it is a symlink or under one (<c>/bin</c> on a
/// merged-/usr system), the file it resolves to. A bare name is a program of that name in the system's own
/// directories (<see cref="SystemDirectories"/>: root's to change), never one found through a process's PATH or
/// working directory. Entries are resolved when the rules are compiled (each policy the agent takes).
/// </summary>
public sealed partial class ExcludedExecutables
{
    /// <summary>Where a bare program name is looked for.</summary>
    public static readonly string[] SystemDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);

    public ExcludedExecutables(IEnumerable<string?> entries)
    {
        foreach (var entry in entries)
        {
            if (string.IsNullOrEmpty(entry) || entry.Contains('\0', StringComparison.Ordinal))
                continue;
            // A relative path with a directory in it names nothing the agent could check: it excludes nothing.
            IEnumerable<string> candidates = entry.StartsWith('/') ? [entry] : entry.Contains('/', StringComparison.Ordinal) ? [] : SystemDirectories.Select(d => d + "/" + entry);
            foreach (var candidate in candidates)
            {
                _paths.Add(candidate);
                if (RealPath(candidate) is { } real)
                    _paths.Add(real);
            }
        }
    }

    public bool IsEmpty => _paths.Count == 0;

    /// <summary>
    /// Whether <paramref name="executable"/>, the kernel's path of a process's executable (<c>/proc/&lt;pid&gt;/exe</c>,
    /// every symlink resolved; null when the process is gone or unreadable), is one the exclusions name.
    /// </summary>
    public bool Contains(string? executable) => executable is not null && _paths.Contains(executable);

    /// <summary>The path with every symlink resolved (realpath(3)); null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        var resolved = RealPath(path, 0);
        if (resolved == 0)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}

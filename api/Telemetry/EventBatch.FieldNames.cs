namespace Platform.Api.Telemetry;

public sealed partial class EventBatch
{
    // ---- The schema's names ----

    /// <summary>The JSON name of each field (container fields by their name inside 'container').</summary>
    public static readonly string[] Names =
    [
        "id", "time", "hostname", "id", "name", "image", "processName",
        "pid", "ppid", "parentProcessName", "executable", "args", "user", "uid", "cwd", "exitCode",
        "path", "operation", "newPath", "protocol", "localAddress", "localPort", "remoteAddress", "remotePort", "name", "answers", "redacted",
        "interpreter", "stdio", "stdio.stdin", "stdio.stdout", "stdio.stderr", "stdio.remoteAddress", "stdio.remotePort", "direction", "result", "until", "reason", "lostEvents",
    ];

    private static readonly byte[][] Utf8Names = Names.Select(Encoding.UTF8.GetBytes).ToArray();

    private static long Bit(Field field) => 1L << (int)field;

    /// <summary>An event's own top-level fields (not kind or container, read apart), found by name.</summary>
    private static Field? Lookup(ReadOnlySpan<byte> name)
    {
        foreach (var field in ByLength[Math.Min(name.Length, ByLength.Length - 1)])
        {
            if (name.SequenceEqual(Utf8Names[(int)field]))
                return field;
        }

        return null;
    }

    private static readonly Field[][] ByLength = Enumerable.Range(0, 19)
        .Select(length => Enum.GetValues<Field>().Where(f => f is not (Field.ContainerId or Field.ContainerName or Field.ContainerImage or Field.Stdio) && (Bit(f) & StdioParts) == 0 && Utf8Names[(int)f].Length == length).ToArray())
        .ToArray();

    /// <summary>The fields inside an event's 'stdio' (read apart, as the container's are).</summary>
    private const long StdioParts = 1L << (int)Field.Stdin | 1L << (int)Field.Stdout | 1L << (int)Field.Stderr | 1L << (int)Field.StdioRemoteAddress | 1L << (int)Field.StdioRemotePort;
}

namespace Platform.Agent.Fim;

/// <summary>
/// A protected file as it was last compared: its content's SHA-256, size and permission bits. The other fields are
/// absent from files written by older agents (unknown: that entry is compared as before once, then they are recorded).
/// </summary>
public sealed record BaselineEntry(string Sha256, long Size, string Mode)
{
    /// <summary>When this state was taken into the baseline.</summary>
    public DateTimeOffset? Taken { get; init; }

    /// <summary>The target, when the path is a symbolic link (its SHA-256 and size are the target's text's).</summary>
    public string? Link { get; init; }

    /// <summary>The file's device (MKDEV) and inode, and its number of names (hard links).</summary>
    public ulong? Device { get; init; }

    public ulong? Inode { get; init; }

    public uint? Links { get; init; }
}

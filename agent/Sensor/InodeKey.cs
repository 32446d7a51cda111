namespace Platform.Agent.Sensor;

/// <summary>A file as the kernel knows it: its filesystem's dev_t (MKDEV: major &lt;&lt; 20 | minor) and its inode number.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly partial record struct InodeKey(ulong Device, ulong Inode)
{
    private const int AtFdCwd = -100, AtSymlinkNofollow = 0x100;
    private const uint StatxIno = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxNlink = 0x4;
    private const int FileTypeMask = 0xF000;
    private const int RegularFile = 0x8000, DirectoryType = 0x4000;

    /// <summary>The regular file at <paramref name="path"/> (a symlink followed), or null when there is none.</summary>
    public static InodeKey? Of(string path) => Stat(path, follow: true) is { Type: RegularFile } found ? found.Key : null;

    /// <summary>The inode at a path (of any type), following a last symlink or not; null when there is none.</summary>
    public static (InodeKey Key, bool Directory)? Lookup(string path, bool follow) =>
        Stat(path, follow) is { } found ? (found.Key, found.Type == DirectoryType) : null;

    /// <summary>The entry named <paramref name="path"/> itself (a symlink not followed) and its number of names (hard links), or null when there is none.</summary>
    public static (InodeKey Key, uint Links)? Named(string path) => Stat(path, follow: false) is { } found ? (found.Key, found.Links) : null;

    private static unsafe (InodeKey Key, int Type, uint Links)? Stat(string path, bool follow)
    {
        Statx buffer;
        if (StatX(AtFdCwd, path, follow ? 0 : AtSymlinkNofollow, StatxIno | StatxType | StatxNlink, &buffer) != 0)
            return null;
        return (new InodeKey(((ulong)buffer.DevMajor << 20) | buffer.DevMinor, buffer.Ino), buffer.Mode & FileTypeMask, buffer.Nlink);
    }

    /// <summary>struct statx (linux/stat.h): the same layout on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Statx
    {
        [FieldOffset(16)] public uint Nlink;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatX(int dirfd, string path, int flags, uint mask, Statx* buffer);
}

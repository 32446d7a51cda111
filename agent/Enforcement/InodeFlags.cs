using System.Buffers.Binary;
using System.Globalization;

namespace Platform.Agent.Enforcement;

/// <summary>The inode attributes (ioctl_iflags(2)) the agent sets, as the kernel names them.</summary>
[Flags]
public enum InodeFlag
{
    None = 0,

    /// <summary><c>FS_IMMUTABLE_FL</c> (<c>chattr +i</c>): no write, truncate, rename, unlink, link, chmod, chown, utimes; on a directory nothing created, removed or renamed inside.</summary>
    Immutable = 0x10,

    /// <summary><c>FS_APPEND_FL</c> (<c>chattr +a</c>): opened for writing only with O_APPEND; no truncate, rename, unlink; on a directory entries can be made but not removed or renamed.</summary>
    Append = 0x20,
}

/// <summary>What a path is, from statx(2) without following a symbolic link.</summary>
public readonly record struct InodeStat(uint DeviceMajor, uint DeviceMinor, ulong Inode, bool IsFile, bool IsDirectory, InodeFlag KernelFlags)
{
    /// <summary>The device as /proc/self/mountinfo writes it (<c>major:minor</c>).</summary>
    public string Device => string.Create(CultureInfo.InvariantCulture, $"{DeviceMajor}:{DeviceMinor}");
}

/// <summary>
/// The immutable and append-only inode attributes through P/Invoke: FS_IOC_GETFLAGS/FS_IOC_SETFLAGS on a descriptor
/// (the kernel keeps them on the inode: they hold for every name of the file and every way of writing it), statx(2)
/// for what a path is (type, device, inode and the attributes it shows, without opening it). The ioctl numbers are
/// the generic encoding (x86_64, arm64); the open flags used have the same value on both.
/// </summary>
public static partial class InodeFlags
{
    private const uint GetFlags = 0x80086601, SetFlags = 0x40086602; // _IOR('f', 1, long), _IOW('f', 2, long)
    private const int AtCurrentDirectory = -100, AtSymlinkNoFollow = 0x100, AtEmptyPath = 0x1000;
    private const int ReadOnlyNonBlockingNoTtyCloseOnExec = 0x800 | 0x100 | 0x80000;
    private const uint StatxType = 0x1, StatxIno = 0x100;
    private const ulong StatxAttrImmutable = 0x10, StatxAttrAppend = 0x20;
    private const int FileType = 0xF000, RegularFile = 0x8000, DirectoryType = 0x4000;

    /// <summary>What is at <paramref name="path"/> (not following a final symbolic link), or null with the error number.</summary>
    public static unsafe InodeStat? Stat(string path, out int error)
    {
        Span<byte> buffer = stackalloc byte[256];
        int result;
        fixed (byte* stat = buffer)
            result = statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxType | StatxIno, stat);
        error = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        return result == 0 ? Parse(buffer) : null;
    }

    private static unsafe InodeStat? StatDescriptor(SafeFileHandle fd)
    {
        Span<byte> buffer = stackalloc byte[256];
        int result;
        fixed (byte* stat = buffer)
            result = statx(fd, "", AtEmptyPath, StatxType | StatxIno, stat);
        return result == 0 ? Parse(buffer) : null;
    }

    /// <summary>struct statx: stx_attributes at 8, stx_mode at 28, stx_ino at 32, stx_dev_major/minor at 136/140.</summary>
    private static InodeStat Parse(ReadOnlySpan<byte> stat)
    {
        var attributes = BinaryPrimitives.ReadUInt64LittleEndian(stat[8..]);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(stat[28..]);
        var flags = ((attributes & StatxAttrImmutable) != 0 ? InodeFlag.Immutable : InodeFlag.None) | ((attributes & StatxAttrAppend) != 0 ? InodeFlag.Append : InodeFlag.None);
        return new InodeStat(BinaryPrimitives.ReadUInt32LittleEndian(stat[136..]), BinaryPrimitives.ReadUInt32LittleEndian(stat[140..]),
            BinaryPrimitives.ReadUInt64LittleEndian(stat[32..]), (mode & FileType) == RegularFile, (mode & FileType) == DirectoryType, flags);
    }

    /// <summary>
    /// Opens a regular file or directory to read or set its attributes, only if it is still the inode
    /// <paramref name="expected"/> names (a name swapped for a symbolic link or another file in between is not
    /// followed). Returns the descriptor (the caller's to dispose), or null with the error number.
    /// </summary>
    public static SafeFileHandle? Open(string path, InodeStat expected, out int error)
    {
        var fd = open(path, ReadOnlyNonBlockingNoTtyCloseOnExec);
        if (fd.IsInvalid)
        {
            error = Marshal.GetLastPInvokeError();
            fd.Dispose();
            return null;
        }

        if (StatDescriptor(fd) is not { } now || (now.DeviceMajor, now.DeviceMinor, now.Inode) != (expected.DeviceMajor, expected.DeviceMinor, expected.Inode))
        {
            fd.Dispose();
            error = Estale;
            return null;
        }

        error = 0;
        return fd;
    }

    /// <summary>ESTALE: the name no longer leads to the inode that was looked at.</summary>
    public const int Estale = 116;

    /// <summary>The inode's flags word (all of it, so that setting keeps the others), or null with the error number.</summary>
    public static unsafe int? Get(SafeFileHandle fd, out int error)
    {
        int flags = 0;
        var result = ioctl(fd, GetFlags, &flags);
        error = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        return result == 0 ? flags : null;
    }

    /// <summary>Sets the inode's whole flags word; 0, or the error number.</summary>
    public static unsafe int Set(SafeFileHandle fd, int flags) => ioctl(fd, SetFlags, &flags) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>True when the error says the filesystem has no such attributes (rather than that the caller may not set them).</summary>
    public static bool MeansUnsupported(int error) => error is 25 /* ENOTTY */ or 95 /* EOPNOTSUPP */ or 22 /* EINVAL */ or 38 /* ENOSYS */;

    /// <summary>CAP_LINUX_IMMUTABLE (bit 9) in the effective set: needed to set or clear either attribute.</summary>
    public static bool MayChange(string status = "/proc/self/status")
    {
        try
        {
            foreach (var line in File.ReadLines(status))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return (ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << 9)) != 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        return false;
    }

    /// <summary>The filesystem type of each mounted device (<c>major:minor</c> to <c>ext4</c>, <c>tmpfs</c>, ...), from /proc/self/mountinfo.</summary>
    public static Dictionary<string, string> FilesystemTypes(string mountinfo = "/proc/self/mountinfo")
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadLines(mountinfo))
            {
                // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
                var fields = line.Split(' ');
                var dash = Array.IndexOf(fields, "-");
                if (fields.Length > 3 && dash > 0 && dash + 1 < fields.Length)
                    types[fields[2]] = fields[dash + 1];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return types;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int directoryFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(SafeFileHandle fd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial SafeFileHandle open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ioctl(SafeFileHandle fd, nuint request, int* argument);
}

using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>The system call of a tamper record (Bpf/tamper.bpf.h <c>TAMPER_SYS_*</c>).</summary>
public enum TamperSyscall : ushort
{
    Open = 1,
    OpenAt = 2,
    OpenAt2 = 3,
    Creat = 4,
    Truncate = 5,
    Ftruncate = 6,
    Unlink = 7,
    UnlinkAt = 8,
    Rmdir = 9,
    Rename = 10,
    RenameAt = 11,
    RenameAt2 = 12,
    Link = 13,
    LinkAt = 14,
    Chmod = 15,
    Fchmod = 16,
    FchmodAt = 17,
    FchmodAt2 = 18,
    Chown = 19,
    Lchown = 20,
    Fchown = 21,
    FchownAt = 22,
    UtimensAt = 23,
    Utimes = 24,
    FutimesAt = 25,
    Utime = 26,

    /// <summary>ioctl FS_IOC_SETFLAGS (what <c>chattr</c> does): <see cref="TamperRecord.Mode"/> holds the new FS_*_FL flags.</summary>
    SetFlags = 27,

    /// <summary>ioctl FS_IOC_FSSETXATTR (<c>xfs_io -c chattr</c>): <see cref="TamperRecord.Mode"/> holds the new fsx_xflags (FS_XFLAG_*).</summary>
    FsSetXattr = 28,
    Mkdir = 29,
    MkdirAt = 30,
    Symlink = 31,
    SymlinkAt = 32,

    // Operations submitted through io_uring (Bpf/uring.bpf.h): attributed to the submitting task, with the completion's result.

    /// <summary>io_uring IORING_OP_OPENAT for writing.</summary>
    UringOpenAt = 33,

    /// <summary>io_uring IORING_OP_OPENAT2 for writing.</summary>
    UringOpenAt2 = 34,

    /// <summary>io_uring IORING_OP_WRITE, WRITEV, WRITE_FIXED or WRITEV_FIXED.</summary>
    UringWrite = 35,
    UringFtruncate = 36,
    UringFallocate = 37,

    /// <summary>io_uring IORING_OP_SPLICE into the file.</summary>
    UringSplice = 38,
    UringRenameAt = 39,
    UringUnlinkAt = 40,
    UringMkdirAt = 41,
    UringSymlinkAt = 42,
    UringLinkAt = 43,
}

/// <summary>How the kernel matched a tamper record (<c>TAMPER_MATCH_*</c>).</summary>
public enum TamperRecordMatch : byte
{
    /// <summary>The call's file is a protected inode (<see cref="TamperRecord.Device"/>, <see cref="TamperRecord.Inode"/>).</summary>
    Inode = 1,

    /// <summary>A file was created in a protected directory (the inode is the directory's).</summary>
    Parent = 2,

    /// <summary>A candidate by its paths, which the agent resolves (<see cref="TamperRecordConverter"/>).</summary>
    Path = 3,
}

/// <summary>
/// <c>struct tamper_record</c> (Bpf/tamper.bpf.h) up to its string slots: one attempt to change a protected file,
/// with the syscall's result. With <see cref="TamperRecordMatch.Path"/> four slots of <see cref="SlotBytes"/> follow
/// (the path, the second path, and the directories they are relative to when relative).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TamperRecord
{
    public const ushort Kind = 48;
    public const int SlotBytes = 1024;
    public const int Slots = 4;
    public const uint Unchanged = uint.MaxValue;

    public RecordHeader Header;
    public ulong Device;
    public ulong Inode;

    /// <summary>open's flags; the *at calls' flags; renameat2's flags; for the ioctls the request.</summary>
    public ulong Flags;

    /// <summary>The syscall's return: 0 (an open that succeeded too) or -errno.</summary>
    public int Result;

    /// <summary>chmod's, open's, mkdir's mode; for the ioctls the new flags.</summary>
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public TamperSyscall Syscall;
    public TamperRecordMatch Match;

    /// <summary>Which strings are cut: 1 the path, 2 its directory, 4 the second path, 8 its directory.</summary>
    public byte Truncated;
    public ushort PathLength;
    public ushort BaseLength;
    public ushort Path2Length;
    public ushort Base2Length;

    /// <summary>The fd of an fd-based call (or the one an open returned); -1 for a path candidate.</summary>
    public int Fd;

    public readonly InodeKey Key => new(Device, Inode);

    /// <summary>The string in slot <paramref name="slot"/> (0 path, 1 second path, 2 path's directory, 3 second path's directory), or null when absent or cut.</summary>
    public static string? Slot(ReadOnlySpan<byte> record, int slot)
    {
        ref readonly var fixedPart = ref MemoryMarshal.AsRef<TamperRecord>(record);
        var (length, cut) = slot switch
        {
            0 => (fixedPart.PathLength, 1),
            1 => (fixedPart.Path2Length, 4),
            2 => (fixedPart.BaseLength, 2),
            _ => (fixedPart.Base2Length, 8),
        };
        var start = Unsafe.SizeOf<TamperRecord>() + slot * SlotBytes;
        if (length == 0 || (fixedPart.Truncated & cut) != 0 || length >= SlotBytes || start + length > record.Length)
            return null;
        return Encoding.UTF8.GetString(record.Slice(start, length));
    }
}

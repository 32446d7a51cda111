namespace Platform.Agent.Sensor;

/// <summary>What a tamper attempt tried to do to a protected file.</summary>
public enum TamperOperation
{
    /// <summary>Opened it for writing (open/openat/openat2/creat with O_WRONLY or O_RDWR).</summary>
    Write,

    /// <summary>Cut it: truncate, ftruncate, or an open with O_TRUNC.</summary>
    Truncate,

    /// <summary>unlink/unlinkat/rmdir.</summary>
    Remove,

    /// <summary>rename/renameat/renameat2: the file moved away, or another file moved over it.</summary>
    Rename,

    /// <summary>link/linkat: a new name (hard link) for it, or a link made over its name.</summary>
    Link,

    Chmod,
    Chown,

    /// <summary>utimensat/utimes/utime/futimesat (touch -d).</summary>
    Times,

    /// <summary>Its inode flags set (ioctl FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR: chattr): <see cref="TamperAttempt.NewInodeFlags"/>.</summary>
    Attributes,

    /// <summary>A new file, directory or symlink in a protected directory.</summary>
    Create,
}

/// <summary>How an attempt touched what is protected.</summary>
public enum TamperTarget
{
    /// <summary>The protected file (or directory) itself, by its inode: whatever name, link or fd the process used.</summary>
    Inode,

    /// <summary>An entry of a protected directory (created, or a name in it).</summary>
    Parent,

    /// <summary>The protected file's name, whose inode is no longer there: it was removed, or renamed or linked over, by this call.</summary>
    Name,
}

/// <summary>
/// One attempt to change a protected file (<see cref="TamperSensor.SetProtected"/>), seen by the kernel sensor at the
/// system call's exit, with its true result: <see cref="Errno"/> 0 when it went through, EPERM (1) when the kernel
/// refused it (an immutable or append-only inode), EACCES (13) when the permissions did. The process is the real one
/// (the kernel's pid, tgid and uid of the calling task), not a name it chose.
/// </summary>
public sealed record TamperAttempt
{
    public const int EPerm = 1, EAccess = 13;
    public const uint ImmutableFlag = 0x10, AppendFlag = 0x20;      // FS_IMMUTABLE_FL, FS_APPEND_FL (FS_IOC_SETFLAGS)
    public const uint XflagImmutable = 0x8, XflagAppend = 0x10;     // FS_XFLAG_IMMUTABLE, FS_XFLAG_APPEND (FS_IOC_FSSETXATTR)

    /// <summary>When the call returned (the kernel's boot clock, converted).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The process (tgid).</summary>
    public required int Pid { get; init; }

    /// <summary>The thread that made the call.</summary>
    public required int ThreadId { get; init; }

    public required int Ppid { get; init; }

    /// <summary>The caller's real uid.</summary>
    public required long Uid { get; init; }

    /// <summary>The task's name (comm) at the call.</summary>
    public required string Comm { get; init; }

    /// <summary>The process as the agent's process table knows it (name, executable, container), or null.</summary>
    public SensorProcess? Process { get; init; }

    public required TamperSyscall Syscall { get; init; }
    public required TamperOperation Operation { get; init; }

    /// <summary>0 when the call went through, else its errno (<see cref="EPerm"/>: refused by the inode's attributes).</summary>
    public required int Errno { get; init; }

    public bool Succeeded => Errno == 0;

    /// <summary>The kernel refused it because of the inode's attributes (immutable, append-only): EPERM.</summary>
    public bool Prevented => Errno == EPerm;

    /// <summary>The protected inode (the directory's, for <see cref="TamperTarget.Parent"/>).</summary>
    public required InodeKey Target { get; init; }

    public required TamperTarget Match { get; init; }

    /// <summary>The protected path (as given to <see cref="TamperSensor.SetProtected"/>) of <see cref="Target"/>.</summary>
    public required string ProtectedPath { get; init; }

    /// <summary>
    /// The path the process named, absolute (a relative one joined to the directory the kernel saw): for every call with
    /// a path (an open's too: the symlink, hard link or /proc/self/fd/N it went through); null for fd-based calls.
    /// </summary>
    public string? Path { get; init; }

    /// <summary>rename's and link's new name, symlink's link name.</summary>
    public string? Path2 { get; init; }

    /// <summary>The fd of an fd-based call (ftruncate, fchmod, fchown, ioctl), or the fd an open returned.</summary>
    public int? Fd { get; init; }

    /// <summary>open's flags (O_*), the *at calls' flags (AT_*), renameat2's flags, the ioctl's request.</summary>
    public ulong Flags { get; init; }

    /// <summary>The new mode of chmod, the mode of an open that creates, of mkdir.</summary>
    public uint? Mode { get; init; }

    /// <summary>chown's new owner and group (null: unchanged).</summary>
    public uint? NewUid { get; init; }
    public uint? NewGid { get; init; }

    /// <summary>The inode flags an ioctl set: FS_*_FL for <see cref="TamperSyscall.SetFlags"/>, FS_XFLAG_* for <see cref="TamperSyscall.FsSetXattr"/>.</summary>
    public uint? NewInodeFlags { get; init; }

    /// <summary>An ioctl whose new flags lack the immutable attribute (chattr -i; with <see cref="Succeeded"/>: it is gone now if the file had it).</summary>
    public bool ClearsImmutable => NewInodeFlags is { } flags && Syscall switch
    {
        TamperSyscall.SetFlags => (flags & ImmutableFlag) == 0,
        TamperSyscall.FsSetXattr => (flags & XflagImmutable) == 0,
        _ => false,
    };

    /// <summary>An ioctl whose new flags lack the append-only attribute (chattr -a).</summary>
    public bool ClearsAppendOnly => NewInodeFlags is { } flags && Syscall switch
    {
        TamperSyscall.SetFlags => (flags & AppendFlag) == 0,
        TamperSyscall.FsSetXattr => (flags & XflagAppend) == 0,
        _ => false,
    };
}

using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// The tamper records (Bpf/tamper.bpf.h, kinds 48-63) turned into <see cref="TamperAttempt"/>s, raised on
/// <see cref="TamperSensor.Attempted"/> (no flight data of their own: the FIM side makes the alerts). A record the
/// kernel matched by inode names its protected file; a path candidate is resolved here against the protected set, in
/// this order: a path whose inode is protected (a symlink followed as the call followed it), a path that is a protected
/// path's name (its file removed, or renamed or linked over, by this call), a path in a protected directory; one that
/// is none of these (a name that is only alike) is dropped.
/// </summary>
public sealed class TamperRecordConverter(ProcessTable processes, TamperSensor tamper) : ISensorRecordConverter
{
    private const ulong OCreat = 0x40, OTrunc = 0x200, ONofollow = 0x20000;
    private const ulong AtSymlinkNofollow = 0x100, AtSymlinkFollow = 0x400;
    private const ulong RenameExchange = 0x2;

    public bool TryConvert(in RecordHeader header, ReadOnlySpan<byte> record, List<TelemetryEvent> events)
    {
        if (header.Kind != TamperRecord.Kind)
            return header.Kind is >= 48 and <= 63; // a kind of this part that this agent does not know: ignored
        if (record.Length < Unsafe.SizeOf<TamperRecord>())
            return true;
        if (Attempt(header, record) is { } attempt)
            tamper.Raise(attempt);
        return true;
    }

    /// <summary>The attempt a record means, or null when it touches nothing protected.</summary>
    public TamperAttempt? Attempt(in RecordHeader header, ReadOnlySpan<byte> record)
    {
        ref readonly var r = ref MemoryMarshal.AsRef<TamperRecord>(record);
        var current = tamper.Current;
        string? path = null, path2 = null;
        var slots = record.Length >= Unsafe.SizeOf<TamperRecord>() + TamperRecord.Slots * TamperRecord.SlotBytes;
        if (slots)
        {
            path = Full(TamperRecord.Slot(record, 0), TamperRecord.Slot(record, 2));
            path2 = Full(TamperRecord.Slot(record, 1), TamperRecord.Slot(record, 3));
        }

        ProtectedEntry? entry;
        TamperTarget match;
        InodeKey target;
        switch (r.Match)
        {
            case TamperRecordMatch.Inode or TamperRecordMatch.Parent:
                if (!current.TryInode(r.Key, out entry))
                    return null; // no longer protected (the set changed twice since)
                (match, target) = (r.Match == TamperRecordMatch.Inode ? TamperTarget.Inode : TamperTarget.Parent, r.Key);
                break;
            case TamperRecordMatch.Path when slots:
                if (Resolve(current, r, path, path2) is not { } found)
                    return null;
                (entry, match, target) = found;
                break;
            default:
                return null;
        }

        var newFlags = r.Syscall is TamperSyscall.SetFlags or TamperSyscall.FsSetXattr;
        var attempt = new TamperAttempt
        {
            Time = KernelClock.FromBoottime(header.TimeNs),
            Pid = (int)header.Tgid,
            ThreadId = (int)header.Pid,
            Ppid = (int)header.Ppid,
            Uid = header.Uid,
            Comm = header.CommText(),
            Process = processes.Get((int)header.Tgid),
            Syscall = r.Syscall,
            Operation = OperationOf(r, match),
            Errno = r.Result < 0 ? -r.Result : 0,
            Target = target,
            Match = match,
            ProtectedPath = entry.Path,
            Path = path,
            Path2 = path2,
            Fd = r.Fd >= 0 ? r.Fd : null,
            Flags = r.Flags,
            Mode = !newFlags && HasMode(r.Syscall, r.Flags) ? r.Mode : null,
            NewUid = r.Syscall is >= TamperSyscall.Chown and <= TamperSyscall.FchownAt && r.Uid != TamperRecord.Unchanged ? r.Uid : null,
            NewGid = r.Syscall is >= TamperSyscall.Chown and <= TamperSyscall.FchownAt && r.Gid != TamperRecord.Unchanged ? r.Gid : null,
            NewInodeFlags = newFlags ? r.Mode : null,
        };
        if (attempt.Succeeded && attempt.Operation is TamperOperation.Remove or TamperOperation.Rename)
            tamper.Left(Taken(current, attempt));
        return attempt;
    }

    /// <summary>
    /// The protected inodes a removal or rename that went through took from their paths: the one it matched (not a
    /// protected directory it made an entry in), and the one a rename over a protected path replaced.
    /// </summary>
    private static IEnumerable<InodeKey> Taken(TamperSensor.Snapshot current, TamperAttempt attempt)
    {
        if (attempt.Match != TamperTarget.Parent && attempt.Target != default)
            yield return attempt.Target;
        if (attempt.Operation == TamperOperation.Rename && attempt.Path2 is { } over && current.ByPath.TryGetValue(over, out var replaced) && replaced.Key is { } key)
            yield return key;
    }

    /// <summary>An absolute path from what the kernel sent: the path, joined to its directory when relative.</summary>
    private static string? Full(string? path, string? directory)
    {
        if (string.IsNullOrEmpty(path))
            return null;
        if (path[0] != '/')
        {
            if (directory is null)
                return null;
            path = directory.TrimEnd('/') + "/" + path;
        }

        return TamperSensor.Normalize(path);
    }

    private static (ProtectedEntry, TamperTarget, InodeKey)? Resolve(TamperSensor.Snapshot current, in TamperRecord r, string? path, string? path2)
    {
        // The object the call acts on (path), then the new name (rename/link/symlink: path2), by inode, then by name. A
        // removal or rename that went through left nothing at path: whatever is there now was made since (a file given
        // the number or the name), or is another name of the file (a hard link), and is not what the call acted on.
        // (RENAME_EXCHANGE leaves a file at both names.)
        var pathGone = r.Result == 0 && OperationOf(r, TamperTarget.Inode) switch
        {
            TamperOperation.Remove => true,
            TamperOperation.Rename => (r.Flags & RenameExchange) == 0,
            _ => false,
        };
        if (path is not null && !pathGone && Stat(current, path, Follows(r)) is { } first)
            return first;
        if (path2 is not null && Stat(current, path2, follow: false) is { } second)
            return second;
        if (path is not null && current.ByPath.TryGetValue(path, out var gone))
            return (gone, TamperTarget.Name, gone.Key ?? default);
        if (path2 is not null && current.ByPath.TryGetValue(path2, out var over))
            return (over, TamperTarget.Name, over.Key ?? default);
        foreach (var p in (ReadOnlySpan<string?>)[path, path2])
        {
            if (p is null || System.IO.Path.GetDirectoryName(p) is not { } directory)
                continue;
            if (InodeKey.Lookup(directory, follow: true) is { Directory: true } dir && current.TryInode(dir.Key, out var parent) && parent.Directory)
                return (parent, TamperTarget.Parent, dir.Key);
        }

        return null;
    }

    private static (ProtectedEntry, TamperTarget, InodeKey)? Stat(TamperSensor.Snapshot current, string path, bool follow) =>
        InodeKey.Lookup(path, follow) is { } found && current.TryInode(found.Key, out var entry) ? (entry, TamperTarget.Inode, found.Key) : null;

    /// <summary>Whether the call follows its path's last symlink (as the kernel did).</summary>
    private static bool Follows(in TamperRecord r) => r.Syscall switch
    {
        TamperSyscall.Open or TamperSyscall.OpenAt or TamperSyscall.OpenAt2 or TamperSyscall.UringOpenAt or TamperSyscall.UringOpenAt2 => (r.Flags & ONofollow) == 0,
        TamperSyscall.Creat or TamperSyscall.Truncate or TamperSyscall.Chmod or TamperSyscall.FchmodAt or TamperSyscall.Chown
            or TamperSyscall.Utimes or TamperSyscall.Utime or TamperSyscall.FutimesAt => true,
        TamperSyscall.FchmodAt2 or TamperSyscall.FchownAt or TamperSyscall.UtimensAt => (r.Flags & AtSymlinkNofollow) == 0,
        TamperSyscall.LinkAt or TamperSyscall.UringLinkAt => (r.Flags & AtSymlinkFollow) != 0,
        _ => false, // unlink, rmdir, rename, link, lchown, mkdir, symlink act on the name itself
    };

    private static bool HasMode(TamperSyscall syscall, ulong flags) => syscall switch
    {
        TamperSyscall.Chmod or TamperSyscall.Fchmod or TamperSyscall.FchmodAt or TamperSyscall.FchmodAt2 or TamperSyscall.Mkdir or TamperSyscall.MkdirAt
            or TamperSyscall.Creat or TamperSyscall.UringMkdirAt => true,
        TamperSyscall.Open or TamperSyscall.OpenAt or TamperSyscall.OpenAt2 or TamperSyscall.UringOpenAt or TamperSyscall.UringOpenAt2 => (flags & OCreat) != 0,
        _ => false,
    };

    private static TamperOperation OperationOf(in TamperRecord r, TamperTarget match) => r.Syscall switch
    {
        TamperSyscall.Open or TamperSyscall.OpenAt or TamperSyscall.OpenAt2 or TamperSyscall.Creat or TamperSyscall.UringOpenAt
            or TamperSyscall.UringOpenAt2 =>
            match == TamperTarget.Parent ? TamperOperation.Create
            : (r.Flags & OTrunc) != 0 || r.Syscall == TamperSyscall.Creat ? TamperOperation.Truncate : TamperOperation.Write,
        TamperSyscall.UringWrite or TamperSyscall.UringFallocate or TamperSyscall.UringSplice => TamperOperation.Write,
        TamperSyscall.Truncate or TamperSyscall.Ftruncate or TamperSyscall.UringFtruncate => TamperOperation.Truncate,
        TamperSyscall.Unlink or TamperSyscall.UnlinkAt or TamperSyscall.Rmdir or TamperSyscall.UringUnlinkAt => TamperOperation.Remove,
        TamperSyscall.Rename or TamperSyscall.RenameAt or TamperSyscall.RenameAt2 or TamperSyscall.UringRenameAt => TamperOperation.Rename,
        TamperSyscall.Link or TamperSyscall.LinkAt or TamperSyscall.UringLinkAt => TamperOperation.Link,
        TamperSyscall.Chmod or TamperSyscall.Fchmod or TamperSyscall.FchmodAt or TamperSyscall.FchmodAt2 => TamperOperation.Chmod,
        TamperSyscall.Chown or TamperSyscall.Lchown or TamperSyscall.Fchown or TamperSyscall.FchownAt => TamperOperation.Chown,
        TamperSyscall.UtimensAt or TamperSyscall.Utimes or TamperSyscall.FutimesAt or TamperSyscall.Utime => TamperOperation.Times,
        TamperSyscall.SetFlags or TamperSyscall.FsSetXattr => TamperOperation.Attributes,
        _ => TamperOperation.Create, // mkdir, symlink
    };
}

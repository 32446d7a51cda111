using System.Buffers.Binary;

namespace Platform.Agent.Fim;

/// <summary>What fanotify(7) reports that the FIM watcher uses, as the kernel names it.</summary>
[Flags]
public enum FanotifyMask : ulong
{
    Access = 0x1,
    Modify = 0x2,
    CloseWrite = 0x8,
    CloseNoWrite = 0x10,
    QueueOverflow = 0x4000,
    OpenPermission = 0x10000,
    EventOnChild = 0x08000000,
}

/// <summary>A file event with the process that caused it; <paramref name="Denied"/>: an open the agent refused.</summary>
public readonly record struct FanotifyEvent(FanotifyMask Mask, int Pid, string? Path, bool Denied = false);

/// <summary>
/// A fanotify group through P/Invoke: unlike inotify, each event names the process (pid) that read or wrote the
/// file. Needs CAP_SYS_ADMIN; <see cref="TryOpen"/> says why not when it cannot. Directories are marked (events of
/// their entries included); the file of an event comes as a descriptor, turned into its path here.
/// <para>
/// Opens are permission events: the opening process waits until the agent answered, so the agent reads who it is
/// (/proc/pid) while it certainly still exists, even a process that reads a file and exits at once. The answer is
/// <c>onOpen</c>'s (allow unless it says no; allow if it fails); if the agent dies, the kernel allows by itself.
/// </para>
/// </summary>
public sealed partial class Fanotify : IDisposable
{
    private const uint ClassContent = 0x4, CloseOnExec = 1, NonBlocking = 2, MarkAdd = 1, Allow = 1, Deny = 2;
    private const uint OpenReadOnlyCloseOnExec = 0x80000;
    private const int AtCurrentDirectory = -100, MetadataBytes = 24, NoFd = -1;

    private readonly SafeFileHandle _fd;
    private readonly byte[] _buffer = new byte[64 * 1024];

    private Fanotify(SafeFileHandle fd) => _fd = fd;

    public static Fanotify? TryOpen(out string? reason)
    {
        reason = null;
        if (!OperatingSystem.IsLinux())
        {
            reason = "not Linux";
            return null;
        }

        var fd = fanotify_init(ClassContent | CloseOnExec | NonBlocking, OpenReadOnlyCloseOnExec);
        if (fd.IsInvalid)
        {
            reason = $"fanotify: {Marshal.GetLastPInvokeErrorMessage()} (needs CAP_SYS_ADMIN)";
            fd.Dispose();
            return null;
        }

        return new Fanotify(fd);
    }

    /// <summary>Marks a directory for the given events of its entries. Returns 0, or the error number.</summary>
    public int Mark(string directory, FanotifyMask mask) =>
        fanotify_mark(_fd, MarkAdd, (ulong)(mask | FanotifyMask.EventOnChild), AtCurrentDirectory, directory) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> and returns the events the kernel has (none on timeout). An
    /// open waiting for permission is shown to <paramref name="onOpen"/> (pid, path; with the opener still there), which
    /// says whether to allow it.
    /// </summary>
    public List<FanotifyEvent> Read(int timeoutMilliseconds, Func<int, string?, bool> onOpen)
    {
        var events = new List<FanotifyEvent>();
        foreach (var read in KernelFd.ReadUntilEmpty(_fd, _buffer, timeoutMilliseconds))
        {
            for (var at = 0; at + MetadataBytes <= read;)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(at));
                var mask = (FanotifyMask)BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(at + 8));
                var fd = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(at + 16));
                var pid = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(at + 20));
                string? path = null;
                var allow = true;
                if (fd != NoFd)
                {
                    // The event's own descriptor of the file: this process's from now on, closed once answered.
                    using var file = KernelFd.Own(fd);
                    try
                    {
                        path = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
                        if (mask.HasFlag(FanotifyMask.OpenPermission))
                            allow = onOpen(pid, path);
                    }
                    finally
                    {
                        if (mask.HasFlag(FanotifyMask.OpenPermission))
                            Respond(fd, allow ? Allow : Deny);
                    }
                }

                if (!allow || (mask & ~FanotifyMask.OpenPermission) != 0)
                    events.Add(new FanotifyEvent(mask & ~FanotifyMask.OpenPermission, pid, path, Denied: !allow));
                if (length < MetadataBytes)
                    break;
                at += length;
            }
        }

        return events;
    }

    /// <summary>struct fanotify_response { __s32 fd; __u32 response; }</summary>
    private void Respond(int fd, uint response)
    {
        Span<byte> answer = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(answer, fd);
        BinaryPrimitives.WriteUInt32LittleEndian(answer[4..], response);
        KernelFd.WriteOnce(_fd, answer);
    }

    public void Dispose() => _fd.Dispose();

    [LibraryImport("libc", SetLastError = true)]
    private static partial SafeFileHandle fanotify_init(uint flags, uint eventFlags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int fanotify_mark(SafeFileHandle fd, uint flags, ulong mask, int directoryFd, string path);
}

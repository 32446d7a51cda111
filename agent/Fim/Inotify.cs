namespace Platform.Agent.Fim;

/// <summary>What inotify(7) reports, as the kernel names it.</summary>
[Flags]
public enum InotifyMask : uint
{
    Access = 0x1,
    Modify = 0x2,
    Attrib = 0x4,
    CloseWrite = 0x8,
    CloseNoWrite = 0x10,
    Open = 0x20,
    MovedFrom = 0x40,
    MovedTo = 0x80,
    Create = 0x100,
    Delete = 0x200,
    DeleteSelf = 0x400,
    MoveSelf = 0x800,
    Unmount = 0x2000,
    QueueOverflow = 0x4000,
    Ignored = 0x8000,
    OnlyDirectory = 0x01000000,
    DontFollow = 0x02000000,
    ExcludeUnlinked = 0x04000000,
    IsDirectory = 0x40000000,
}

public readonly record struct InotifyEvent(int Watch, InotifyMask Mask, uint Cookie, string Name);

/// <summary>
/// An inotify instance through P/Invoke (libc): watches added by directory, events read in batches, a wait that
/// wakes up to look at a stop signal (the descriptor is non-blocking; <c>poll</c> waits for it).
/// </summary>
public sealed partial class Inotify : IDisposable
{
    private const int NonBlocking = 0x800, CloseOnExec = 0x80000;
    private readonly SafeFileHandle _fd;
    private readonly byte[] _buffer = new byte[64 * 1024];

    public Inotify()
    {
        _fd = inotify_init1(NonBlocking | CloseOnExec);
        if (_fd.IsInvalid)
        {
            var error = Marshal.GetLastPInvokeErrorMessage();
            _fd.Dispose();
            throw new IOException($"inotify_init1 failed: {error}");
        }
    }

    /// <summary>Watches a directory (its entries' events name the entry). Returns the watch descriptor, or an error number.</summary>
    public (int Watch, int Error) Add(string directory, InotifyMask mask)
    {
        var watch = inotify_add_watch(_fd, directory, (uint)mask);
        return watch >= 0 ? (watch, 0) : (-1, Marshal.GetLastPInvokeError());
    }

    public void Remove(int watch) => _ = inotify_rm_watch(_fd, watch);

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for events and returns those the kernel has (none on timeout).</summary>
    public List<InotifyEvent> Read(int timeoutMilliseconds)
    {
        var events = new List<InotifyEvent>();
        foreach (var read in KernelFd.ReadUntilEmpty(_fd, _buffer, timeoutMilliseconds))
        {
            var at = 0;
            while (at + 16 <= read)
            {
                var watch = BitConverter.ToInt32(_buffer, at);
                var mask = (InotifyMask)BitConverter.ToUInt32(_buffer, at + 4);
                var cookie = BitConverter.ToUInt32(_buffer, at + 8);
                var length = (int)BitConverter.ToUInt32(_buffer, at + 12);
                var name = _buffer.AsSpan(at + 16, length);
                var end = name.IndexOf((byte)0);
                events.Add(new InotifyEvent(watch, mask, cookie, System.Text.Encoding.UTF8.GetString(end >= 0 ? name[..end] : name)));
                at += 16 + length;
            }
        }

        return events;
    }

    public void Dispose() => _fd.Dispose();

    [LibraryImport("libc", SetLastError = true)]
    private static partial SafeFileHandle inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int inotify_add_watch(SafeFileHandle fd, string path, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_rm_watch(SafeFileHandle fd, int watch);
}

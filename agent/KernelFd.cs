namespace Platform.Agent;

/// <summary>
/// A non-blocking descriptor the kernel writes events to (inotify, fanotify, netlink): wait for it with <c>poll</c> (so
/// a reader can look at its stop signal between waits), then read what is there into a buffer until it is empty.
/// Descriptors are held as <see cref="SafeFileHandle"/>s: closed exactly once, and not while a call uses them (a
/// reader still in <c>poll</c> keeps the number from being closed and given to the next descriptor opened).
/// </summary>
public static partial class KernelFd
{
    private const short PollIn = 1;

    /// <summary>A descriptor a system call returned, owned from now on (closed when disposed); -1 stays invalid.</summary>
    public static SafeFileHandle Own(int fd) => new(fd, ownsHandle: true);

    /// <summary>True when the descriptor has something to read within <paramref name="timeoutMilliseconds"/>.</summary>
    public static unsafe bool WaitReadable(SafeFileHandle fd, int timeoutMilliseconds)
    {
        using var lease = new HandleLease(fd);
        var poll = new PollFd { Fd = (int)lease.Value, Events = PollIn };
        return Poll(&poll, 1, timeoutMilliseconds) > 0;
    }

    /// <summary>One read into <paramref name="buffer"/>: the bytes read, or -1 with the error number (EAGAIN when it is empty).</summary>
    public static unsafe (nint Read, int Error) ReadOnce(SafeFileHandle fd, byte[] buffer)
    {
        nint read;
        fixed (byte* bytes = buffer)
            read = ReadBytes(fd, bytes, buffer.Length);
        return (read, read < 0 ? Marshal.GetLastPInvokeError() : 0);
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> for the descriptor, then reads it into <paramref name="buffer"/>
    /// until it is empty (EAGAIN): the byte count of each read, the buffer holding that read's bytes until the next.
    /// </summary>
    public static IEnumerable<int> ReadUntilEmpty(SafeFileHandle fd, byte[] buffer, int timeoutMilliseconds)
    {
        if (!WaitReadable(fd, timeoutMilliseconds))
            yield break;
        while (true)
        {
            var (read, _) = ReadOnce(fd, buffer);
            if (read <= 0)
                yield break;
            yield return (int)read;
        }
    }

    /// <summary>One write of <paramref name="bytes"/>; false when the kernel refused it.</summary>
    public static unsafe bool WriteOnce(SafeFileHandle fd, ReadOnlySpan<byte> bytes)
    {
        fixed (byte* data = bytes)
            return WriteBytes(fd, data, bytes.Length) == bytes.Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadBytes(SafeFileHandle fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteBytes(SafeFileHandle fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeout);
}

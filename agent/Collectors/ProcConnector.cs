using System.Buffers.Binary;

namespace Platform.Agent.Collectors;

/// <summary>A process event from the kernel's proc connector.</summary>
public readonly record struct ProcEvent(ProcEventKind Kind, int Pid, int Tgid, ulong TimestampNanoseconds, int? ExitCode);

public enum ProcEventKind
{
    Exec,
    Exit,
}

/// <summary>
/// The kernel's process events connector (netlink, <c>NETLINK_CONNECTOR</c>, <c>CN_IDX_PROC</c>) through P/Invoke: every
/// exec and exit on the machine as it happens, however short the process lived. Needs CAP_NET_ADMIN (in the
/// initial user namespace); <see cref="TryOpen"/> says why not when it cannot listen.
/// </summary>
public sealed partial class ProcConnector : IDisposable
{
    private const int AfNetlink = 16, SockDgram = 2, SockNonBlock = 0x800, SockCloexec = 0x80000, NetlinkConnector = 11;
    private const uint CnIdxProc = 1, CnValProc = 1, ProcCnMcastListen = 1;
    private const uint ProcEventExec = 0x00000002, ProcEventExit = 0x80000000;
    private const int NlMsgHeader = 16, CnMsgHeader = 20, EventHeader = 16;

    private const int NoBufferSpace = 105; // ENOBUFS: the kernel had more events than the socket's buffer held
    private readonly SafeFileHandle _fd;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private long _overflows;

    /// <summary>Times the kernel dropped events because they came faster than they were read.</summary>
    public long Overflows => Interlocked.Read(ref _overflows);

    private ProcConnector(SafeFileHandle fd) => _fd = fd;

    /// <summary>Listens to the proc connector; null (and why) when this process may not.</summary>
    public static unsafe ProcConnector? TryOpen(out string? reason)
    {
        reason = null;
        if (!OperatingSystem.IsLinux())
        {
            reason = "not Linux";
            return null;
        }

        var fd = socket(AfNetlink, SockDgram | SockNonBlock | SockCloexec, NetlinkConnector);
        if (fd.IsInvalid)
        {
            reason = $"netlink socket: {Marshal.GetLastPInvokeErrorMessage()}";
            fd.Dispose();
            return null;
        }

        var address = new SockaddrNl { Family = AfNetlink, Groups = CnIdxProc };
        Span<byte> listen = stackalloc byte[NlMsgHeader + CnMsgHeader + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(listen, (uint)listen.Length); // nlmsg_len
        BinaryPrimitives.WriteUInt16LittleEndian(listen[4..], 3); // NLMSG_DONE
        BinaryPrimitives.WriteUInt32LittleEndian(listen[12..], (uint)Environment.ProcessId);
        BinaryPrimitives.WriteUInt32LittleEndian(listen[16..], CnIdxProc);
        BinaryPrimitives.WriteUInt32LittleEndian(listen[20..], CnValProc);
        BinaryPrimitives.WriteUInt16LittleEndian(listen[32..], 4); // cn_msg.len
        BinaryPrimitives.WriteUInt32LittleEndian(listen[36..], ProcCnMcastListen);
        fixed (byte* message = listen)
        {
            if (bind(fd, &address, sizeof(SockaddrNl)) < 0 || send(fd, message, listen.Length, 0) < 0)
            {
                reason = $"proc connector: {Marshal.GetLastPInvokeErrorMessage()} (needs CAP_NET_ADMIN)";
                fd.Dispose();
                return null;
            }
        }

        return new ProcConnector(fd);
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> and returns the execs and exits of processes (not threads) the kernel sent.</summary>
    public List<ProcEvent> Read(int timeoutMilliseconds)
    {
        var events = new List<ProcEvent>();
        if (!KernelFd.WaitReadable(_fd, timeoutMilliseconds))
            return events;
        while (true)
        {
            var (read, error) = KernelFd.ReadOnce(_fd, _buffer); // a datagram a read
            if (read < 0 && error == NoBufferSpace)
            {
                Interlocked.Increment(ref _overflows);
                continue;
            }

            if (read <= 0)
                return events; // EAGAIN: all read
            for (var at = 0; at + NlMsgHeader <= read;)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(at));
                if (length < NlMsgHeader || at + length > read)
                    break;
                if (Parse(_buffer.AsSpan(at + NlMsgHeader + CnMsgHeader, Math.Max(0, length - NlMsgHeader - CnMsgHeader))) is { } e)
                    events.Add(e);
                at += (length + 3) & ~3; // NLMSG_ALIGN
            }
        }
    }

    /// <summary>A proc_event: what, cpu, timestamp, then the event's own fields.</summary>
    public static ProcEvent? Parse(ReadOnlySpan<byte> e)
    {
        if (e.Length < EventHeader + 8)
            return null;
        var what = BinaryPrimitives.ReadUInt32LittleEndian(e);
        var timestamp = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
        var (pid, tgid) = (BinaryPrimitives.ReadInt32LittleEndian(e[16..]), BinaryPrimitives.ReadInt32LittleEndian(e[20..]));
        if (what == ProcEventExec)
            return new ProcEvent(ProcEventKind.Exec, pid, tgid, timestamp, null);
        if (what != ProcEventExit || pid != tgid || e.Length < EventHeader + 16)
            return null; // forks, thread exits, the rest
        // The wait status: an exit code in bits 8-15, or the signal that ended it in bits 0-6 (given as 128 + signal, as shells do).
        var status = BinaryPrimitives.ReadInt32LittleEndian(e[24..]);
        var code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
        return new ProcEvent(ProcEventKind.Exit, pid, tgid, timestamp, code);
    }

    public void Dispose() => _fd.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial SafeFileHandle socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int bind(SafeFileHandle fd, SockaddrNl* address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint send(SafeFileHandle fd, byte* buffer, nint length, int flags);
}

using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Platform.Agent.Collectors;

/// <summary>What /proc says of a process when it was first seen.</summary>
public sealed record ProcessInfo(int Pid, int Ppid, string Name, long StartTicks, string? Executable, IReadOnlyList<string> Args, long? Uid, string? Cwd, string? ContainerId);

/// <summary>One socket of /proc/net/{tcp,tcp6,udp,udp6}.</summary>
public sealed record SocketEntry(NetworkProtocol Protocol, IPAddress LocalAddress, int LocalPort, IPAddress RemoteAddress, int RemotePort, int State, long Inode)
{
    public const int Established = 0x01, SynSent = 0x02, Listen = 0x0A;
}

/// <summary>Reading /proc: processes, their containers (cgroups), sockets and which process holds them.</summary>
public static partial class ProcFs
{
    public const int TicksPerSecond = 100; // USER_HZ

    /// <summary>The pids there are now.</summary>
    public static IEnumerable<int> Pids(string proc = "/proc")
    {
        foreach (var directory in Directory.EnumerateDirectories(proc))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
                yield return pid;
        }
    }

    /// <summary>A process as it is now; null when it is gone (or was never readable).</summary>
    public static ProcessInfo? Process(int pid, string proc = "/proc")
    {
        var root = Path.Join(proc, pid.ToString(CultureInfo.InvariantCulture));
        try
        {
            if (ParseStat(File.ReadAllText(Path.Join(root, "stat"))) is not var (name, ppid, start))
                return null;
            var executable = Link(Path.Join(root, "exe"));
            var args = Args(root);
            // Caught in the middle of exec: the new program is there but its arguments are not yet (the kernel sets
            // them up after the point a parent learns the exec succeeded). They appear within moments.
            for (var wait = 0; args.Count == 0 && executable is not null && wait < 20; wait++)
            {
                Thread.Sleep(1);
                args = Args(root);
            }

            return new ProcessInfo(pid, ppid, name, start, executable, args, Uid(File.ReadLines(Path.Join(root, "status"))), Link(Path.Join(root, "cwd")),
                ContainerId(File.ReadLines(Path.Join(root, "cgroup"))));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // gone meanwhile, or not ours to read
        }
    }

    private static List<string> Args(string root) =>
        File.ReadAllText(Path.Join(root, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries).Take(256).Select(a => a.Length > 4096 ? a[..4096] : a).ToList();

    /// <summary>Name, parent and start time (ticks after boot) from /proc/pid/stat: the name is in parentheses and may hold anything.</summary>
    public static (string Name, int Ppid, long StartTicks)? ParseStat(string stat)
    {
        var open = stat.IndexOf('(');
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
            return null;
        var fields = stat[(close + 2)..].Split(' ');
        // After the name: state(0) ppid(1) ... starttime(19)
        return fields.Length > 19
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid)
            && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? (stat[(open + 1)..close], ppid, start)
            : null;
    }

    /// <summary>The real uid (first figure of the Uid line of /proc/pid/status).</summary>
    public static long? Uid(IEnumerable<string> status) =>
        status.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal)) is { } line
        && long.TryParse(line[4..].Trim().Split('\t', ' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid : null;

    /// <summary>
    /// The container a process is in, from its cgroup paths: the 64-hex id container runtimes put there
    /// (<c>/docker/&lt;id&gt;</c>, <c>docker-&lt;id&gt;.scope</c>, <c>cri-containerd-&lt;id&gt;.scope</c>, <c>crio-&lt;id&gt;.scope</c>,
    /// <c>libpod-&lt;id&gt;.scope</c>, kubepods paths). Null on the host.
    /// </summary>
    public static string? ContainerId(IEnumerable<string> cgroup)
    {
        foreach (var line in cgroup)
        {
            var path = line[(line.IndexOf(':', line.IndexOf(':') + 1) + 1)..];
            if (ContainerInPath().Match(path) is { Success: true } match)
                return match.Groups["id"].Value;
        }

        return null;
    }

    [GeneratedRegex(@"(?:^|/)(?:docker-|cri-containerd-|crio-|libpod-|docker/|containerd/)?(?<id>[0-9a-f]{64})(?:\.scope)?(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ContainerInPath();

    /// <summary>The sockets of one /proc/net table (tcp, tcp6, udp, udp6).</summary>
    public static IEnumerable<SocketEntry> Sockets(NetworkProtocol protocol, IEnumerable<string> table)
    {
        foreach (var line in table.Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10)
                continue;
            var (local, remote) = (Endpoint(fields[1]), Endpoint(fields[2]));
            if (local is null || remote is null
                || !int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var state)
                || !long.TryParse(fields[9], NumberStyles.None, CultureInfo.InvariantCulture, out var inode))
                continue;
            yield return new SocketEntry(protocol, local.Value.Address, local.Value.Port, remote.Value.Address, remote.Value.Port, state, inode);
        }
    }

    /// <summary>
    /// <c>0100007F:1F90</c> (IPv4) or 32 hex digits (IPv6): the address as the kernel holds it, each 32-bit word in
    /// host order (little-endian here), then the port in hex.
    /// </summary>
    public static (IPAddress Address, int Port)? Endpoint(string text)
    {
        var colon = text.IndexOf(':');
        if (colon is not (8 or 32) || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var port))
            return null;
        var bytes = Convert.FromHexString(text.AsSpan(0, colon));
        for (var word = 0; word < bytes.Length; word += 4)
            Array.Reverse(bytes, word, 4);
        var address = new IPAddress(bytes);
        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
    }

    /// <summary>Which process holds each of the given socket inodes (the first found), from the /proc/pid/fd links.</summary>
    public static Dictionary<long, int> SocketOwners(IReadOnlySet<long> inodes, string proc = "/proc")
    {
        var owners = new Dictionary<long, int>();
        foreach (var pid in Pids(proc))
        {
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Join(proc, pid.ToString(CultureInfo.InvariantCulture), "fd")))
                {
                    if (Link(fd) is { } target && target.StartsWith("socket:[", StringComparison.Ordinal)
                        && long.TryParse(target.AsSpan(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out var inode)
                        && inodes.Contains(inode))
                        owners.TryAdd(inode, pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }

            if (owners.Count == inodes.Count)
                break;
        }

        return owners;
    }

    /// <summary>User names by uid, from /etc/passwd.</summary>
    public static Dictionary<long, string> Users(string passwd = "/etc/passwd")
    {
        var users = new Dictionary<long, string>();
        try
        {
            foreach (var fields in File.ReadLines(passwd).Select(l => l.Split(':')).Where(f => f.Length > 2))
            {
                if (long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
                    users.TryAdd(uid, fields[0]);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return users;
    }

    /// <summary>The kernel's path of a process's executable (its <c>exe</c> link: every symlink resolved); null when it is gone.</summary>
    public static string? Executable(int pid, string proc = "/proc") => Link(Path.Join(proc, pid.ToString(CultureInfo.InvariantCulture), "exe"));

    private static string? Link(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>What a process blocked in an open is opening, read from /proc (its threads' current system calls and memory).</summary>
public static class OpenIntent
{
    private const long WriteOnly = 0x1, ReadWrite = 0x2, Truncate = 0x200;
    private const int Open = 2, Creat = 85, OpenAt = 257, OpenAt2 = 437;

    /// <summary>
    /// True when a thread of <paramref name="pid"/> is opening a file named like <paramref name="path"/> for writing
    /// (write-only, read-write or truncating), false when for reading only, null when it cannot tell (no such
    /// thread found, or /proc not readable).
    /// </summary>
    public static bool? ForWriting(int pid, string path, string proc = "/proc")
    {
        var name = Path.GetFileName(path);
        try
        {
            foreach (var task in Directory.EnumerateDirectories(Path.Join(proc, pid.ToString(CultureInfo.InvariantCulture), "task")))
            {
                var call = File.ReadAllText(Path.Join(task, "syscall")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (call.Length < 5 || !int.TryParse(call[0], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                    continue;
                long Argument(int i) => long.Parse(call[i].AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var (pathAt, flags) = number switch
                {
                    Open => (Argument(1), (long?)Argument(2)),
                    OpenAt => (Argument(2), Argument(3)),
                    Creat => (Argument(1), WriteOnly),
                    OpenAt2 => (Argument(2), ReadLong(task, Argument(3))), // struct open_how { u64 flags; ... }
                    _ => (0, null),
                };
                if (pathAt == 0 || flags is not { } f || Path.GetFileName(ReadString(task, pathAt)) != name)
                    continue;
                return (f & (WriteOnly | ReadWrite | Truncate)) != 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
        }

        return null;
    }

    private static long? ReadLong(string task, long address)
    {
        using var memory = new FileStream(Path.Join(task, "mem"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        memory.Position = address;
        Span<byte> bytes = stackalloc byte[8];
        return memory.Read(bytes) == 8 ? BitConverter.ToInt64(bytes) : null;
    }

    private static string ReadString(string task, long address)
    {
        using var memory = new FileStream(Path.Join(task, "mem"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        memory.Position = address;
        var bytes = new byte[4096];
        var read = memory.Read(bytes);
        var end = Array.IndexOf(bytes, (byte)0, 0, Math.Max(0, read));
        return System.Text.Encoding.UTF8.GetString(bytes, 0, end < 0 ? Math.Max(0, read) : end);
    }
}

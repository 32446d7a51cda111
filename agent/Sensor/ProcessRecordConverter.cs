using System.Net;
using System.Text;
using Platform.Agent.Collectors;

namespace Platform.Agent.Sensor;

/// <summary>Turns one kind of the sensor's records into flight data (the process records here; network and file records in their own).</summary>
public interface ISensorRecordConverter
{
    /// <summary>
    /// Adds what <paramref name="record"/> means to <paramref name="events"/> (nothing for a record that only keeps
    /// the agent's state, as a fork); false when its kind is not this converter's.
    /// </summary>
    bool TryConvert(in RecordHeader header, ReadOnlySpan<byte> record, List<TelemetryEvent> events);
}

/// <summary>
/// Exec, fork and exit records: process starts and exits (<see cref="ProcessStartEvent"/>, <see cref="ProcessExitEvent"/>)
/// with what the kernel saw at the time, and the <see cref="ProcessTable"/> kept up to date for every other record.
/// </summary>
public sealed unsafe class ProcessRecordConverter(ProcessTable processes, UserNames users) : ISensorRecordConverter
{
    private const int MaxArgs = 256, MaxArg = 4096;
    public bool TryConvert(in RecordHeader header, ReadOnlySpan<byte> record, List<TelemetryEvent> events)
    {
        switch ((RecordKind)header.Kind)
        {
            case RecordKind.Exec:
                if (ExecRecordText.TryRead(record, out var exec, out var text))
                    events.Add(Started(exec, text));
                return true;
            case RecordKind.Fork:
                if (record.Length >= Marshal.SizeOf<ForkRecord>())
                {
                    var fork = MemoryMarshal.Read<ForkRecord>(record);
                    processes.Fork((int)fork.ParentTgid, (int)fork.ChildTgid, fork.Header.CommText(), fork.Header.Uid);
                }

                return true;
            case RecordKind.Exit:
                if (record.Length >= Marshal.SizeOf<ExitRecord>())
                    events.Add(Exited(MemoryMarshal.Read<ExitRecord>(record)));
                return true;
            default:
                return false;
        }
    }

    private ProcessStartEvent Started(in ExecRecord exec, ExecRecordText text)
    {
        var header = exec.Header;
        var (tgid, ppid) = ((int)header.Tgid, (int)header.Ppid);
        var cwd = Cwd(text.Cwd, (exec.Flags & ExecRecord.CwdTruncated) != 0);
        var filename = Utf8(text.Filename);
        var executable = filename.Length == 0 ? header.CommText()
            : filename.StartsWith('/') || cwd is null ? filename : Path.GetFullPath(filename, cwd);
        var container = ProcFs.ContainerId(["0::/" + Utf8(text.Cgroup), "0:pids:/" + Utf8(text.PidsCgroup)]);
        var name = header.CommText();
        var parent = processes.Get(ppid);
        processes.Exec(new SensorProcess(tgid, ppid, name, executable, container, header.Uid));
        return new ProcessStartEvent
        {
            Id = EventId.New(),
            Time = KernelClock.FromBoottime(header.TimeNs),
            ProcessName = name,
            Pid = tgid,
            Ppid = ppid,
            ParentProcessName = parent?.Name,
            Executable = executable,
            Interpreter = (exec.Flags & ExecRecord.Script) != 0 ? Utf8(text.Interp) : null,
            Args = Args(text.Argv),
            Uid = header.Uid,
            User = users.Name(header.Uid),
            Cwd = cwd,
            Container = container is null ? null : new ContainerRef { Id = container },
            Stdio = Stdio(exec),
        };
    }

    private ProcessExitEvent Exited(in ExitRecord exit)
    {
        var tgid = (int)exit.Header.Tgid;
        var gone = processes.Exit(tgid);
        return new ProcessExitEvent
        {
            Id = EventId.New(),
            Time = KernelClock.FromBoottime(exit.Header.TimeNs),
            ProcessName = gone?.Name ?? exit.Header.CommText(),
            Pid = tgid,
            ExitCode = exit.Status,
            Container = gone?.ContainerId is { } id ? new ContainerRef { Id = id } : null,
        };
    }

    /// <summary>The argument vector: NUL-separated in the process's memory (an empty argument stays one).</summary>
    public static List<string> Args(ReadOnlySpan<byte> argv)
    {
        var args = new List<string>();
        while (argv.Length > 0 && args.Count < MaxArgs)
        {
            var end = argv.IndexOf((byte)0);
            var arg = Utf8(end < 0 ? argv : argv[..end]);
            args.Add(arg.Length > MaxArg ? arg[..MaxArg] : arg);
            argv = end < 0 ? default : argv[(end + 1)..];
        }

        return args;
    }

    /// <summary>The working directory from its components, leaf first (as the kernel walked up); "/" for the root.</summary>
    public static string? Cwd(ReadOnlySpan<byte> components, bool truncated)
    {
        var names = new List<string>();
        while (components.Length > 0)
        {
            var end = components.IndexOf((byte)0);
            names.Add(Utf8(end < 0 ? components : components[..end]));
            components = end < 0 ? default : components[(end + 1)..];
        }

        names.Reverse();
        var path = "/" + string.Join('/', names);
        return truncated ? "..." + path : path;
    }

    private static ProcessStdio Stdio(in ExecRecord exec)
    {
        var stdio = new ProcessStdio { Stdin = Kind(exec.Stdio[0]), Stdout = Kind(exec.Stdio[1]), Stderr = Kind(exec.Stdio[2]) };
        if (exec.PeerFamily is 2 or 10)
        {
            var length = exec.PeerFamily == 2 ? 4 : 16;
            Span<byte> address = stackalloc byte[length];
            for (var i = 0; i < length; i++)
                address[i] = exec.PeerAddress[i];
            (stdio.RemoteAddress, stdio.RemotePort) = (new IPAddress(address).ToString(), exec.PeerPort);
        }

        return stdio;
    }

    private static StdioKind Kind(byte kind) => (StdioRecordKind)kind switch
    {
        StdioRecordKind.None => StdioKind.None,
        StdioRecordKind.Socket => StdioKind.Socket,
        StdioRecordKind.Tty => StdioKind.Tty,
        StdioRecordKind.Pipe => StdioKind.Pipe,
        StdioRecordKind.File => StdioKind.File,
        _ => StdioKind.Other,
    };

    private static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}

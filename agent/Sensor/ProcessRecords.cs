namespace Platform.Agent.Sensor;

/// <summary>What a standard descriptor was at exec (enum stdio_kind, events.h).</summary>
public enum StdioRecordKind : byte
{
    None = 0,
    Socket = 1,
    Tty = 2,
    Pipe = 3,
    File = 4,
    Other = 5,
}

/// <summary>struct exec_record (events.h): the fixed part; the strings follow it (<see cref="ExecRecordText"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ExecRecord
{
    public const uint ArgvTruncated = 0x1, CwdTruncated = 0x2, Script = 0x4, NoMm = 0x8;

    public RecordHeader Header;
    public uint Flags;
    public ushort FilenameLength;
    public ushort InterpLength;
    public ushort CwdLength;
    public ushort CgroupLength;
    public ushort PidsCgroupLength;
    public ushort ArgvLength;
    public fixed byte Stdio[3];
    public byte PeerFamily;
    public ushort PeerPort;
    public ushort PeerFd;
    public fixed byte PeerAddress[16];
}

/// <summary>The variable part of an exec record: slices of the record's bytes, in the order events.h gives.</summary>
public readonly ref struct ExecRecordText
{
    public ReadOnlySpan<byte> Filename { get; init; }
    public ReadOnlySpan<byte> Interp { get; init; }

    /// <summary>The working directory's components from the leaf up, each ended by a NUL.</summary>
    public ReadOnlySpan<byte> Cwd { get; init; }
    public ReadOnlySpan<byte> Cgroup { get; init; }
    public ReadOnlySpan<byte> PidsCgroup { get; init; }

    /// <summary>The arguments as they were in the process's memory, each ended by a NUL (the last one's NUL missing when truncated).</summary>
    public ReadOnlySpan<byte> Argv { get; init; }

    /// <summary>The parts of an exec record; false when the lengths do not fit in the record (a corrupt record).</summary>
    public static unsafe bool TryRead(ReadOnlySpan<byte> record, out ExecRecord fixedPart, out ExecRecordText text)
    {
        fixedPart = default;
        text = default;
        if (record.Length < sizeof(ExecRecord))
            return false;
        fixedPart = MemoryMarshal.Read<ExecRecord>(record);
        var rest = record[sizeof(ExecRecord)..];
        int[] lengths = [fixedPart.FilenameLength, fixedPart.InterpLength, fixedPart.CwdLength, fixedPart.CgroupLength, fixedPart.PidsCgroupLength, fixedPart.ArgvLength];
        if (lengths.Sum() > rest.Length)
            return false;
        var offset = 0;
        text = new ExecRecordText
        {
            Filename = Next(rest, ref offset, fixedPart.FilenameLength),
            Interp = Next(rest, ref offset, fixedPart.InterpLength),
            Cwd = Next(rest, ref offset, fixedPart.CwdLength),
            Cgroup = Next(rest, ref offset, fixedPart.CgroupLength),
            PidsCgroup = Next(rest, ref offset, fixedPart.PidsCgroupLength),
            Argv = Next(rest, ref offset, fixedPart.ArgvLength),
        };
        return true;

        static ReadOnlySpan<byte> Next(ReadOnlySpan<byte> bytes, scoped ref int offset, int length)
        {
            var slice = bytes.Slice(offset, length);
            offset += length;
            return slice;
        }
    }
}

/// <summary>struct fork_record (events.h): a new process (not a thread); the header is the child's.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ForkRecord
{
    public RecordHeader Header;
    public uint ParentTgid;
    public uint ChildTgid;
}

/// <summary>struct exit_record (events.h): the last thread of a process ended.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ExitRecord
{
    public RecordHeader Header;

    /// <summary>The wait status: the exit status in bits 8-15, the killing signal in bits 0-6.</summary>
    public uint ExitCode;
    public uint Pad;

    /// <summary>The exit status, or 128 + the signal that killed the process (as a shell reports it).</summary>
    public readonly int Status => (ExitCode & 0x7f) != 0 ? 128 + (int)(ExitCode & 0x7f) : (int)((ExitCode >> 8) & 0xff);
}

/// <summary>struct loss_counter (events.h): one CPU's losses.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct LossCounter
{
    public ulong Count;
    public ulong FirstNs;
    public ulong LastNs;
}

/// <summary>struct sensor_config (events.h), the map <c>agent_config</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SensorConfig
{
    /// <summary>SENSOR_CONFIG_NAME_LENGTHS: the name lengths are set (without it the kernel looks every name up).</summary>
    public const uint NameLengths = 0x1;

    public uint AgentTgid;
    public uint Flags;
    public ulong LossesReportedNs;

    /// <summary>Bit n: <c>sensitive_names</c> holds a basename (an extension, a directory name) of n UTF-8 bytes.</summary>
    public ulong BasenameLengths, ExtensionLengths, DirectoryLengths;
}

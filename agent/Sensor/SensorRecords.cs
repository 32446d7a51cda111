using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>
/// The kinds of records the sensor's BPF programs write (agent/Sensor/Bpf/events.h): 1-15 process records,
/// 16-31 network records, 32-47 file records, 48-63 tamper records (<see cref="TamperRecord"/>).
/// </summary>
public enum RecordKind : ushort
{
    Exec = 1,
    Fork = 2,
    Exit = 3,
}

/// <summary>struct record_header: what every record starts with (events.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct RecordHeader
{
    public const int CommLength = 16;

    public ushort Kind;

    /// <summary>The whole record's length, this header included.</summary>
    public ushort Size;
    public uint Cpu;

    /// <summary>CLOCK_BOOTTIME, nanoseconds (<see cref="KernelClock.FromBoottime"/>).</summary>
    public ulong TimeNs;
    public uint Pid;
    public uint Tgid;
    public uint Ppid;
    public uint Uid;
    public fixed byte Comm[CommLength];

    /// <summary>The task's name (comm) when the record was written.</summary>
    public readonly string CommText()
    {
        fixed (byte* comm = Comm)
        {
            var span = new ReadOnlySpan<byte>(comm, CommLength);
            var end = span.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
        }
    }

    /// <summary>
    /// <paramref name="telemetry"/> with what every sensor event takes from its record and process: the id, the time,
    /// the process's name (the record's comm when the process is not known) and its container.
    /// </summary>
    public readonly T Stamp<T>(T telemetry, string id, SensorProcess? process) where T : TelemetryEvent
    {
        telemetry.Id = id;
        telemetry.Time = KernelClock.FromBoottime(TimeNs);
        telemetry.ProcessName = process?.Name ?? CommText();
        telemetry.Container = process.Container();
        return telemetry;
    }

    /// <summary>The header at the start of a record (null when the record is too short to hold one).</summary>
    public static ref readonly RecordHeader Of(ReadOnlySpan<byte> record) => ref MemoryMarshal.AsRef<RecordHeader>(record[..sizeof(RecordHeader)]);
}

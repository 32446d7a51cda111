using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// The file records (Bpf/files.bpf.h, kinds 32-47): an open of a sensitive file with no FIM rule becomes a
/// <see cref="FileAccessEvent"/> (read for O_RDONLY, write otherwise) with the path of the file opened as the kernel
/// resolved it, when a sensitive glob matches it (<see cref="SensitiveFiles.PathOf"/>).
/// </summary>
public sealed class FileRecordConverter(ProcessTable processes, SensitiveFiles files) : ISensorRecordConverter
{
    public bool TryConvert(in RecordHeader header, ReadOnlySpan<byte> record, List<TelemetryEvent> events)
    {
        if (header.Kind != FileOpenRecord.Kind)
            return header.Kind is >= 32 and <= 47; // a kind of this part that this agent does not know: ignored
        if (record.Length < Unsafe.SizeOf<FileOpenRecord>())
            return true;
        ref readonly var open = ref MemoryMarshal.AsRef<FileOpenRecord>(record);
        if (files.PathOf(open, FileOpenRecord.Path(record)) is not { } path)
            return true;
        events.Add(header.Stamp(new FileAccessEvent
        {
            Pid = (int)header.Tgid,
            Path = path,
            Operation = open.ReadOnly ? FimOperation.Read : FimOperation.Write,
        }, EventId.New(), processes.Get((int)header.Tgid)));
        return true;
    }
}

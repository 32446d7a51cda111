using System.Runtime.CompilerServices;
using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>
/// <c>struct file_open_record</c> (Bpf/files.bpf.h) up to its path: a successful open of a file whose inode is in the
/// sensitive map, or whose name is a candidate for a <c>**</c> glob. The path of the file opened, resolved in the
/// kernel (dentries up to the root, across mounts), follows this part: <see cref="PathLength"/> bytes and a NUL.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FileOpenRecord
{
    public const ushort Kind = 32;
    private const int AccessModeMask = 3; // O_ACCMODE; O_RDONLY is 0

    public RecordHeader Header;
    /// <summary>The kernel's dev_t of the file's filesystem (major &lt;&lt; 20 | minor).</summary>
    public ulong Device;
    public ulong Inode;
    /// <summary>The open file's f_flags.</summary>
    public uint Flags;
    public ushort PathLength;
    /// <summary>What hit: 1 the inode, 2 the basename, 3 the extension, 4 a directory's name.</summary>
    public byte Match;
    /// <summary>Deeper or longer than the kernel walks: the path is its tail only.</summary>
    public byte Truncated;

    public const byte InodeMatch = 1;

    public readonly bool ReadOnly => (Flags & AccessModeMask) == 0;

    public readonly InodeKey Key => new(Device, Inode);

    /// <summary>The resolved path that follows the record's fixed part in <paramref name="record"/>, or null when it is not whole.</summary>
    public static string? Path(ReadOnlySpan<byte> record)
    {
        ref readonly var fixedPart = ref MemoryMarshal.AsRef<FileOpenRecord>(record);
        var start = Unsafe.SizeOf<FileOpenRecord>();
        if (fixedPart.Truncated != 0 || fixedPart.PathLength == 0 || start + fixedPart.PathLength > record.Length)
            return null;
        var path = record.Slice(start, fixedPart.PathLength);
        return path[0] == (byte)'/' ? Encoding.UTF8.GetString(path) : null;
    }
}

using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// libbpf 1.x (libbpf.so.1, Debian's libbpf1) through P/Invoke: it opens the sensor's BPF object, relocates it to the
/// running kernel (CO-RE), loads and attaches its programs, and reads its ring buffer. Only what the sensor uses.
/// libbpf 1.x returns NULL (pointers) or a negative errno (ints) on failure, and sets errno for the pointers.
/// </summary>
public static unsafe partial class Libbpf
{
    private const string Library = "libbpf.so.1";

    public const int PrintWarn = 0;

    /// <summary>BPF_ANY for bpf_map_update_elem.</summary>
    public const ulong Any = 0;

    [LibraryImport(Library, EntryPoint = "bpf_object__open_file", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial BpfObjectHandle ObjectOpenFile(string path, nint options);

    [LibraryImport(Library, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(BpfObjectHandle obj);

    /// <summary>Only <see cref="BpfObjectHandle"/> closes the object.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_object__close")]
    internal static partial void ObjectClose(nint obj);

    [LibraryImport(Library, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint ObjectFindMap(BpfObjectHandle obj, string name);

    [LibraryImport(Library, EntryPoint = "bpf_object__next_program")]
    public static partial nint ObjectNextProgram(BpfObjectHandle obj, nint previous);

    [LibraryImport(Library, EntryPoint = "bpf_program__name")]
    public static partial nint ProgramName(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_program__section_name")]
    public static partial nint ProgramSectionName(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_program__attach", SetLastError = true)]
    public static partial BpfLinkHandle ProgramAttach(nint program);

    [LibraryImport(Library, EntryPoint = "bpf_program__set_autoload")]
    public static partial int ProgramSetAutoload(nint program, [MarshalAs(UnmanagedType.U1)] bool autoload);

    /// <summary>Only <see cref="BpfLinkHandle"/> destroys a link.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_link__destroy")]
    internal static partial int LinkDestroy(nint link);

    [LibraryImport(Library, EntryPoint = "bpf_map__set_max_entries")]
    internal static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Library, EntryPoint = "bpf_map__max_entries")]
    public static partial uint MapMaxEntries(nint map);

    /// <summary>The map's descriptor, the object's: use it only while holding the object (<see cref="BpfMap"/>).</summary>
    [LibraryImport(Library, EntryPoint = "bpf_map__fd")]
    internal static partial int MapFd(nint map);

    [LibraryImport(Library, EntryPoint = "bpf_map__value_size")]
    public static partial uint MapValueSize(nint map);

    [LibraryImport(Library, EntryPoint = "bpf_map_update_elem")]
    internal static partial int MapUpdate(int fd, void* key, void* value, ulong flags);

    /// <summary>For a per-CPU map, <paramref name="value"/> holds one value per possible CPU, each rounded up to 8 bytes.</summary>
    [LibraryImport(Library, EntryPoint = "bpf_map_lookup_elem")]
    internal static partial int MapLookup(int fd, void* key, void* value);

    [LibraryImport(Library, EntryPoint = "bpf_map_delete_elem")]
    internal static partial int MapDelete(int fd, void* key);

    [LibraryImport(Library, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int PossibleCpus();

    [LibraryImport(Library, EntryPoint = "ring_buffer__new", SetLastError = true)]
    internal static partial RingBufferHandle RingBufferNew(int mapFd, delegate* unmanaged[Cdecl]<nint, nint, nuint, int> sample, nint context, nint options);

    /// <summary>Calls the sample callback for every record there is, waiting up to <paramref name="timeoutMilliseconds"/> for one. Returns the records consumed or a negative errno.</summary>
    [LibraryImport(Library, EntryPoint = "ring_buffer__poll")]
    public static partial int RingBufferPoll(RingBufferHandle ringBuffer, int timeoutMilliseconds);

    /// <summary>Calls the sample callback for every record there is, without waiting. Returns the records consumed or a negative errno.</summary>
    [LibraryImport(Library, EntryPoint = "ring_buffer__consume")]
    public static partial int RingBufferConsume(RingBufferHandle ringBuffer);

    /// <summary>Only <see cref="RingBufferHandle"/> frees the reader.</summary>
    [LibraryImport(Library, EntryPoint = "ring_buffer__free")]
    internal static partial void RingBufferFree(nint ringBuffer);

    [LibraryImport(Library, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(delegate* unmanaged[Cdecl]<int, nint, nint, int> print);

    [LibraryImport("libc", EntryPoint = "mount", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Mount(string source, string target, string type, ulong flags, nint data);

    [LibraryImport("libc", EntryPoint = "vsnprintf")]
    private static partial int VsnPrintf(byte* buffer, nuint size, nint format, nint arguments);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    /// <summary>What an errno means, e.g. <c>Operation not permitted (EPERM)</c>.</summary>
    public static string Error(int errno)
    {
        errno = Math.Abs(errno);
        var text = Marshal.PtrToStringUTF8(StrError(errno)) ?? $"error {errno}";
        return Enum.IsDefined(typeof(Errno), errno) ? $"{text} ({(Errno)errno})" : text;
    }

    public static string? Name(nint program) => Marshal.PtrToStringUTF8(ProgramName(program));

    private enum Errno
    {
        EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, E2BIG = 7, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14,
        EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOSPC = 28, ERANGE = 34, ENOSYS = 38, ELOOP = 40, ENOTSUP = 95, ENOTSUPP = 524,
    }

    private static Action<string>? _warn;
    private static readonly byte[] PrintBuffer = new byte[1 << 20];

    /// <summary>libbpf's warnings (e.g. the verifier's log when a program is refused) go to <paramref name="warn"/>; its information and debug output nowhere.</summary>
    public static void RouteWarnings(Action<string> warn)
    {
        _warn = warn;
        SetPrint(&Print);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Print(int level, nint format, nint arguments)
    {
        if (level > PrintWarn || _warn is not { } warn)
            return 0;
        lock (PrintBuffer)
        {
            // One message can be the verifier's whole log (a va_list can be read once: no second try with a larger buffer).
            fixed (byte* buffer = PrintBuffer)
            {
                var length = VsnPrintf(buffer, (nuint)PrintBuffer.Length, format, arguments);
                if (length > 0)
                    warn(System.Text.Encoding.UTF8.GetString(buffer, Math.Min(length, PrintBuffer.Length - 1)).TrimEnd());
            }
        }

        return 0;
    }
}

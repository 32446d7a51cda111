namespace Platform.Agent.Sensor;

/// <summary>
/// Which of the object's programs load on this kernel: those on tracepoints it does not have, the tamper programs before
/// Linux 5.15, the io_uring ones when refused, and the open exits' programs a tamper program does too are turned off
/// before the object is loaded; tracefs is mounted when a program needs it.
/// </summary>
public sealed unsafe partial class KernelSensor
{
    /// <summary>The tamper programs on io_uring's tracepoints (Bpf/uring.bpf.h): their names' prefix.</summary>
    public const string UringPrograms = "tamper_uring_";

    /// <summary>
    /// Counts the programs whose names start with <paramref name="prefix"/> and, with <paramref name="off"/>, turns them
    /// off (not loaded). Returns the count.
    /// </summary>
    private int SkipPrograms(string prefix, bool off)
    {
        var count = 0;
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            if (Libbpf.Name(program)?.StartsWith(prefix, StringComparison.Ordinal) != true)
                continue;
            count++;
            if (off && Libbpf.ProgramSetAutoload(program, false) >= 0)
                _skipped.Add(program);
        }

        return count;
    }

    private readonly HashSet<nint> _skipped = [];

    /// <summary>
    /// A program on a tracepoint this kernel does not have (<c>syscalls/sys_exit_open</c> and <c>sys_exit_creat</c> on
    /// arm64, which has only openat) is not loaded, with a warning, rather than failing the whole sensor.
    /// </summary>
    private HashSet<nint> SkipMissingTracepoints(List<string> warnings)
    {
        var skipped = new HashSet<nint>();
        if (TracefsEvents() is not { } events)
            return skipped;
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            var section = Marshal.PtrToStringUTF8(Libbpf.ProgramSectionName(program)) ?? "";
            if (MissingTracepoint(section, events) is not { } missing || Libbpf.ProgramSetAutoload(program, false) < 0)
                continue;
            skipped.Add(program);
            lock (warnings)
                warnings.Add($"this kernel has no tracepoint {missing}: the sensor's program {Libbpf.Name(program)} is not attached");
        }

        return skipped;
    }

    /// <summary>
    /// The tamper programs (Bpf/tamper.bpf.h) read syscall arguments with bpf_task_pt_regs, which Linux has since 5.15:
    /// on an older kernel they are not loaded, with a warning, and the rest of the sensor runs (no tamper records).
    /// </summary>
    private HashSet<nint> SkipTamperBefore515(List<string> warnings)
    {
        var skipped = new HashSet<nint>();
        if (Environment.OSVersion.Version >= new Version(5, 15))
            return skipped;
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            if (Libbpf.Name(program)?.StartsWith("tamper_", StringComparison.Ordinal) == true && Libbpf.ProgramSetAutoload(program, false) >= 0)
                skipped.Add(program);
        }

        if (skipped.Count > 0)
        {
            lock (warnings)
                warnings.Add($"this kernel ({Environment.OSVersion.Version}) is older than 5.15: the tamper programs are not attached (no records of attempts on protected files)");
        }

        return skipped;
    }

    /// <summary>
    /// The open exits' programs of files.bpf.h (<c>sensor_openat_exit</c>, ...) that a tamper program of the same name
    /// (<c>tamper_openat_exit</c>) does together with its own part (one program per exit: the fd's file and inode looked
    /// up once): not loaded when that tamper program is. Where the tamper programs are not (before Linux 5.15, or the
    /// exit missing), the sensor's own program runs.
    /// </summary>
    private HashSet<nint> SkipFoldedIntoTamper(HashSet<nint> skipped)
    {
        const string sensor = "sensor_", tamper = "tamper_";
        var byName = new Dictionary<string, nint>(StringComparer.Ordinal);
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            if (Libbpf.Name(program) is { } name)
                byName[name] = program;
        }

        var folded = new HashSet<nint>();
        foreach (var (name, program) in byName)
        {
            if (name.StartsWith(sensor, StringComparison.Ordinal)
                && byName.TryGetValue(tamper + name[sensor.Length..], out var replacement) && !skipped.Contains(replacement)
                && Libbpf.ProgramSetAutoload(program, false) >= 0)
                folded.Add(program);
        }

        return folded;
    }

    /// <summary>The tracefs directory of the kernel's trace events (where libbpf looks them up), or null when tracefs is not mounted.</summary>
    public static string? TracefsEvents() =>
        new[] { "/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events" }.FirstOrDefault(Directory.Exists);

    /// <summary>The tracepoint (<c>syscalls/sys_exit_open</c>, <c>io_uring/io_uring_complete</c>) of a program's section <c>tracepoint/...</c> or <c>tp_btf/io_uring_...</c> when <paramref name="events"/> has no such event; null for one it has and for other sections.</summary>
    public static string? MissingTracepoint(string section, string events)
    {
        const string prefix = "tracepoint/", uring = "tp_btf/io_uring_";
        var tracepoint = section.StartsWith(prefix, StringComparison.Ordinal) ? section[prefix.Length..]
            : section.StartsWith(uring, StringComparison.Ordinal) ? "io_uring/" + section["tp_btf/".Length..] // a kernel without io_uring, or before 6.0
            : null;
        return tracepoint is null || Directory.Exists(Path.Combine(events, tracepoint)) ? null : tracepoint;
    }

    /// <summary>
    /// Programs on <c>tracepoint/</c> need tracefs (libbpf reads the tracepoint's id there): mounted at
    /// /sys/kernel/tracing when it is not. Raw and BTF tracepoints attach by name and need nothing.
    /// </summary>
    private string? NeedsTracefs()
    {
        var needs = false;
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
            needs |= Marshal.PtrToStringUTF8(Libbpf.ProgramSectionName(program))?.StartsWith("tracepoint/", StringComparison.Ordinal) == true;
        if (!needs || Directory.Exists("/sys/kernel/tracing/events") || Directory.Exists("/sys/kernel/debug/tracing/events"))
            return null;
        return Libbpf.Mount("nodev", "/sys/kernel/tracing", "tracefs", 0, 0) == 0 ? null
            : $"tracefs is not mounted and could not be (mount -t tracefs nodev /sys/kernel/tracing: {Libbpf.Error(Marshal.GetLastPInvokeError())})";
    }
}

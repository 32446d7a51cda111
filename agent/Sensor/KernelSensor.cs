using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// The kernel sensor's BPF object (sensor.bpf.o, beside the agent) loaded into the kernel, its programs attached, and
/// its ring buffer drained on a thread of its own into a <see cref="RecordQueue"/> (nothing is allocated per record;
/// the records are turned into events elsewhere, in batches). Losses the kernel counted are read with
/// <see cref="ReadLosses"/>. Disposing detaches the programs and frees the object.
/// </summary>
public sealed unsafe class KernelSensor : IDisposable
{
    /// <summary>The object's file name, beside the agent's assembly.</summary>
    public const string ObjectFile = "sensor.bpf.o";

    private readonly List<nint> _links = [];
    private readonly int _cpus;
    private readonly LossCounter[] _losses;
    private readonly LossCounter[] _reported;
    private readonly Lock _configLock = new();
    private SensorConfig _config = new() { AgentTgid = (uint)Environment.ProcessId };
    private nint _object, _ringBuffer;
    private GCHandle _queueHandle;
    private Thread? _drain;
    private bool _stopping;

    private KernelSensor(nint obj, int cpus, RecordQueue queue)
    {
        (_object, _cpus, Queue) = (obj, cpus, queue);
        _losses = new LossCounter[cpus];
        _reported = new LossCounter[cpus];
    }

    /// <summary>Where the records go as the kernel writes them.</summary>
    public RecordQueue Queue { get; }

    /// <summary>The loaded object, for the parts that fill its maps (e.g. the sensitive files' inodes) while it runs.</summary>
    public BpfObjectView Object => _object != 0 ? new(_object) : throw new ObjectDisposedException(nameof(KernelSensor));

    /// <summary>The programs attached, by name.</summary>
    public IReadOnlyList<string> Programs { get; private set; } = [];

    /// <summary>Where the programs are attached: their ELF sections (<c>tp_btf/sched_process_exec</c>, <c>tracepoint/syscalls/sys_enter_connect</c>), as <see cref="Programs"/>.</summary>
    public IReadOnlyList<string> AttachPoints { get; private set; } = [];

    /// <summary>Errors the drain thread met (ring_buffer__poll), for the log.</summary>
    public int PollError { get; private set; }

    /// <summary>
    /// Opens, loads and attaches the sensor; null, with the reason (libbpf's error, and its warnings such as the
    /// verifier's log in <paramref name="warnings"/>), when the kernel refuses it or it is missing.
    /// </summary>
    /// <param name="configure">Called after the object is opened and before it is loaded (map sizes), and again after it is loaded and before its programs are attached (map contents).</param>
    public static KernelSensor? TryLoad(string objectPath, long ringBufferBytes, List<string> warnings, out string? reason, Action<BpfObjectView, bool>? configure = null)
    {
        reason = null;
        if (!File.Exists(objectPath))
        {
            reason = $"the sensor's BPF object {objectPath} is missing";
            return null;
        }

        try
        {
            lock (warnings)
                Libbpf.RouteWarnings(line => { lock (warnings) warnings.Add(line); });
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            reason = $"libbpf 1.x (libbpf.so.1) is not installed: {e.Message}";
            return null;
        }

        // The io_uring programs are optional (Bpf/uring.bpf.h): when the kernel refuses them (a kernel whose io_uring
        // differs), the sensor is loaded again without them rather than not at all.
        foreach (var withUring in (ReadOnlySpan<bool>)[true, false])
        {
            var obj = Libbpf.ObjectOpenFile(objectPath, 0);
            if (obj == 0)
            {
                reason = $"libbpf could not open {objectPath}: {Libbpf.Error(Marshal.GetLastPInvokeError())}";
                return null;
            }

            var cpus = Libbpf.PossibleCpus();
            var sensor = new KernelSensor(obj, Math.Max(cpus, 1), new RecordQueue(QueueBytes(ringBufferBytes)));
            var uringPrograms = 0;
            try
            {
                uringPrograms = sensor.SkipPrograms(UringPrograms, off: !withUring);
                reason = sensor.Load(ringBufferBytes, cpus, configure, warnings);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                reason = e.Message;
            }

            if (reason is null)
                return sensor;
            sensor.Dispose();
            if (!withUring || uringPrograms == 0)
                return null;
            lock (warnings)
                warnings.Add($"the kernel refused the sensor with its io_uring programs ({reason}): loaded without them, io_uring attempts on protected files are not seen");
        }

        return null;
    }

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

    /// <summary>The user-space queue: twice the kernel's ring buffer, at least 1 MiB, at most 64 MiB.</summary>
    private static int QueueBytes(long ringBufferBytes) => (int)Math.Clamp(ringBufferBytes * 2, 1L << 20, 64L << 20);

    private string? Load(long ringBufferBytes, int cpus, Action<BpfObjectView, bool>? configure, List<string> warnings)
    {
        var view = new BpfObjectView(_object);
        if (cpus <= 0)
            return $"libbpf could not count the CPUs: {Libbpf.Error(cpus)}";
        if (Libbpf.MapSetMaxEntries(view.Map("events"), (uint)ringBufferBytes) is var sized and < 0)
            return $"the ring buffer's size ({ringBufferBytes}) was refused: {Libbpf.Error(sized)}";
        if (Libbpf.MapSetMaxEntries(view.Map("scratch"), (uint)cpus) is var scratch and < 0)
            return $"the scratch buffers could not be sized: {Libbpf.Error(scratch)}";
        configure?.Invoke(view, false);
        if (NeedsTracefs() is { } tracefsProblem)
            return tracefsProblem;
        var skipped = SkipMissingTracepoints(warnings);
        skipped.UnionWith(SkipTamperBefore515(warnings));
        skipped.UnionWith(SkipFoldedIntoTamper(skipped));
        skipped.UnionWith(_skipped);

        if (Libbpf.ObjectLoad(_object) is var loaded and < 0)
            return $"the kernel refused the sensor's BPF programs (bpf_object__load: {Libbpf.Error(loaded)})";

        if (WriteConfig(config => config) is var set and < 0)
            return $"the sensor's configuration could not be set: {Libbpf.Error(set)}";
        configure?.Invoke(view, true);

        _queueHandle = GCHandle.Alloc(this);
        _ringBuffer = Libbpf.RingBufferNew(Libbpf.MapFd(view.Map("events")), &OnRecord, GCHandle.ToIntPtr(_queueHandle), 0);
        if (_ringBuffer == 0)
            return $"the ring buffer could not be opened: {Libbpf.Error(Marshal.GetLastPInvokeError())}";

        var (names, sections) = (new List<string>(), new List<string>());
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            if (skipped.Contains(program))
                continue;
            var link = Libbpf.ProgramAttach(program);
            if (link == 0)
                return $"the kernel refused to attach {Libbpf.Name(program)}: {Libbpf.Error(Marshal.GetLastPInvokeError())}";
            _links.Add(link);
            names.Add(Libbpf.Name(program) ?? "?");
            sections.Add(Marshal.PtrToStringUTF8(Libbpf.ProgramSectionName(program)) ?? "?");
        }

        (Programs, AttachPoints) = (names, sections);
        return null;
    }

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
    /// Tells the kernel the lengths of the sensitive names of each kind (files.bpf.h looks up only a name of one of
    /// them; with no directory names it walks no directories): bit n of a mask is a name of n UTF-8 bytes.
    /// </summary>
    public int SetNameLengths(ulong basenames, ulong extensions, ulong directories) => WriteConfig(config => config with
    {
        Flags = config.Flags | SensorConfig.NameLengths,
        BasenameLengths = basenames,
        ExtensionLengths = extensions,
        DirectoryLengths = directories,
    });

    /// <summary>The configuration the kernel holds (the map <c>agent_config</c>).</summary>
    public SensorConfig ReadConfig()
    {
        ObjectDisposedException.ThrowIf(_object == 0, this);
        var (zero, config) = (0u, default(SensorConfig));
        return Libbpf.MapLookup(Libbpf.MapFd(Libbpf.ObjectFindMap(_object, "agent_config")), &zero, &config) is var read and < 0
            ? throw new IOException($"the sensor's configuration could not be read: {Libbpf.Error(read)}") : config;
    }

    /// <summary>Changes the map <c>agent_config</c> (its fields are set by more than one thread: each keeps the others').</summary>
    private int WriteConfig(Func<SensorConfig, SensorConfig> change)
    {
        ObjectDisposedException.ThrowIf(_object == 0, this);
        lock (_configLock)
        {
            var config = change(_config);
            var zero = 0u;
            var set = Libbpf.MapUpdate(Libbpf.MapFd(Libbpf.ObjectFindMap(_object, "agent_config")), &zero, &config, Libbpf.Any);
            if (set >= 0)
                _config = config;
            return set;
        }
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

    /// <summary>Starts draining the ring buffer on a thread of its own.</summary>
    public void Start()
    {
        _drain = new Thread(Drain) { IsBackground = true, Name = "sensor-drain" };
        _drain.Start();
    }

    /// <summary>
    /// How often the ring buffer is drained when the kernel has not woken the drain: it wakes it only once a sixteenth
    /// of the buffer waits (sensor.bpf.c <c>wakeup_flags</c>), so that a record does not cost an interrupt and a
    /// thread wake-up of its own. A record reaches <see cref="Queue"/> at most this late.
    /// </summary>
    public const int DrainMilliseconds = 50;

    private void Drain()
    {
        while (!Volatile.Read(ref _stopping))
        {
            var polled = Libbpf.RingBufferPoll(_ringBuffer, DrainMilliseconds);
            if (polled == 0)
                polled = Libbpf.RingBufferConsume(_ringBuffer); // no wake-up: what is there below the threshold
            if (polled < 0 && polled != -4) // EINTR: a signal; poll again
            {
                PollError = polled;
                Thread.Sleep(100);
            }
        }

        Libbpf.RingBufferConsume(_ringBuffer); // what came before the programs were detached
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnRecord(nint context, nint data, nuint size)
    {
        var sensor = (KernelSensor)GCHandle.FromIntPtr(context).Target!;
        sensor.Queue.Write(new ReadOnlySpan<byte>((void*)data, (int)size), ref sensor._stopping);
        return 0;
    }

    /// <summary>
    /// Losses the kernel counted since the last call (records it could not put in the ring buffer): how many, and the
    /// boot-clock times of the first and the last; (0, 0, 0) when none. Not thread-safe: one caller.
    /// </summary>
    public (long Lost, ulong FirstNs, ulong LastNs) ReadLosses()
    {
        ObjectDisposedException.ThrowIf(_object == 0, this);
        var zero = 0u;
        var fd = Libbpf.MapFd(Libbpf.ObjectFindMap(_object, "losses"));
        fixed (LossCounter* values = _losses)
        {
            if (Libbpf.MapLookup(fd, &zero, values) < 0)
                return (0, 0, 0);
        }

        var (lost, first, last) = (0L, ulong.MaxValue, 0UL);
        for (var cpu = 0; cpu < _cpus; cpu++)
        {
            var (now, before) = (_losses[cpu], _reported[cpu]);
            if (now.Count <= before.Count)
                continue;
            lost += (long)(now.Count - before.Count);
            // A loss between the last read and the kernel learning of it keeps the older first: the span then starts just after what was reported.
            first = Math.Min(first, Math.Max(now.FirstNs, before.LastNs + 1));
            last = Math.Max(last, now.LastNs);
            _reported[cpu] = now;
        }

        if (lost == 0)
            return (0, 0, 0);
        WriteConfig(config => config with { LossesReportedNs = last });
        return (lost, first, Math.Max(first, last));
    }

    /// <summary>Detaches the programs and stops draining (what was drained stays in <see cref="Queue"/>; the losses can still be read).</summary>
    public void Stop()
    {
        foreach (var link in _links)
            Libbpf.LinkDestroy(link);
        _links.Clear();
        Volatile.Write(ref _stopping, true);
        _drain?.Join();
        _drain = null;
    }

    public void Dispose()
    {
        Stop();
        if (_ringBuffer != 0)
            Libbpf.RingBufferFree(_ringBuffer);
        _ringBuffer = 0;
        if (_object != 0)
            Libbpf.ObjectClose(_object);
        _object = 0;
        if (_queueHandle.IsAllocated)
            _queueHandle.Free();
        Queue.Dispose();
    }
}

/// <summary>The sensor's BPF object, for the parts of the agent that size or fill its maps (<see cref="KernelSensor.TryLoad"/>).</summary>
public readonly struct BpfObjectView(nint obj)
{
    /// <summary>A map of the object by name (libbpf's struct bpf_map*).</summary>
    public nint Map(string name) => Libbpf.ObjectFindMap(obj, name) is var map and not 0 ? map
        : throw new InvalidOperationException($"the sensor's BPF object has no map {name}");

    /// <summary>A loaded map's file descriptor, for bpf_map_update_elem.</summary>
    public int MapFd(string name) => Libbpf.MapFd(Map(name));
}

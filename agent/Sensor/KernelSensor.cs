using System.Runtime.CompilerServices;

namespace Platform.Agent.Sensor;

/// <summary>
/// The kernel sensor's BPF object (sensor.bpf.o, beside the agent) loaded into the kernel, its programs attached, and
/// its ring buffer drained on a thread of its own into a <see cref="RecordQueue"/> (nothing is allocated per record;
/// the records are turned into events elsewhere, in batches). Losses the kernel counted are read with
/// <see cref="ReadLosses"/>. Disposing detaches the programs and frees the object.
/// </summary>
public sealed unsafe partial class KernelSensor : IDisposable
{
    /// <summary>The object's file name, beside the agent's assembly.</summary>
    public const string ObjectFile = "sensor.bpf.o";

    private readonly List<BpfLinkHandle> _links = [];
    private readonly int _cpus;
    private readonly LossCounter[] _losses;
    private readonly LossCounter[] _reported;
    private readonly Lock _configLock = new();
    private SensorConfig _config = new() { AgentTgid = (uint)Environment.ProcessId };
    private readonly BpfObjectHandle _object;
    private RingBufferHandle? _ringBuffer;
    private GCHandle _queueHandle;
    private Thread? _drain;
    private bool _stopping;

    private KernelSensor(BpfObjectHandle obj, int cpus, RecordQueue queue)
    {
        (_object, _cpus, Queue) = (obj, cpus, queue);
        _losses = new LossCounter[cpus];
        _reported = new LossCounter[cpus];
    }

    /// <summary>Where the records go as the kernel writes them.</summary>
    public RecordQueue Queue { get; }

    /// <summary>The loaded object, for the parts that fill its maps (e.g. the sensitive files' inodes) while it runs.</summary>
    public BpfObjectView Object => !_object.IsClosed ? new(_object) : throw new ObjectDisposedException(nameof(KernelSensor));

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
            if (obj.IsInvalid)
            {
                reason = $"libbpf could not open {objectPath}: {Libbpf.Error(Marshal.GetLastPInvokeError())}";
                obj.Dispose();
                return null;
            }

            var cpus = Libbpf.PossibleCpus();
            KernelSensor sensor;
            try
            {
                sensor = new KernelSensor(obj, Math.Max(cpus, 1), new RecordQueue(QueueBytes(ringBufferBytes)));
            }
            catch
            {
                obj.Dispose();
                throw;
            }

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

    /// <summary>The user-space queue: twice the kernel's ring buffer, at least 1 MiB, at most 64 MiB.</summary>
    private static int QueueBytes(long ringBufferBytes) => (int)Math.Clamp(ringBufferBytes * 2, 1L << 20, 64L << 20);

    private string? Load(long ringBufferBytes, int cpus, Action<BpfObjectView, bool>? configure, List<string> warnings)
    {
        var view = new BpfObjectView(_object);
        if (cpus <= 0)
            return $"libbpf could not count the CPUs: {Libbpf.Error(cpus)}";
        if (view.Map("events").SetMaxEntries((uint)ringBufferBytes) is var sized and < 0)
            return $"the ring buffer's size ({ringBufferBytes}) was refused: {Libbpf.Error(sized)}";
        if (view.Map("scratch").SetMaxEntries((uint)cpus) is var scratch and < 0)
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
        _ringBuffer = view.Map("events").OpenRingBuffer(&OnRecord, GCHandle.ToIntPtr(_queueHandle));
        if (_ringBuffer.IsInvalid)
            return $"the ring buffer could not be opened: {Libbpf.Error(Marshal.GetLastPInvokeError())}";

        var (names, sections) = (new List<string>(), new List<string>());
        for (var program = Libbpf.ObjectNextProgram(_object, 0); program != 0; program = Libbpf.ObjectNextProgram(_object, program))
        {
            if (skipped.Contains(program))
                continue;
            var link = Libbpf.ProgramAttach(program);
            if (link.IsInvalid)
            {
                var error = Marshal.GetLastPInvokeError();
                link.Dispose();
                return $"the kernel refused to attach {Libbpf.Name(program)}: {Libbpf.Error(error)}";
            }

            _links.Add(link);
            names.Add(Libbpf.Name(program) ?? "?");
            sections.Add(Marshal.PtrToStringUTF8(Libbpf.ProgramSectionName(program)) ?? "?");
        }

        (Programs, AttachPoints) = (names, sections);
        return null;
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
        var ringBuffer = _ringBuffer!;
        while (!Volatile.Read(ref _stopping))
        {
            var polled = Libbpf.RingBufferPoll(ringBuffer, DrainMilliseconds);
            if (polled == 0)
                polled = Libbpf.RingBufferConsume(ringBuffer); // no wake-up: what is there below the threshold
            if (polled < 0 && polled != -4) // EINTR: a signal; poll again
            {
                PollError = polled;
                Thread.Sleep(100);
            }
        }

        Libbpf.RingBufferConsume(ringBuffer); // what came before the programs were detached
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnRecord(nint context, nint data, nuint size)
    {
        var sensor = (KernelSensor)GCHandle.FromIntPtr(context).Target!;
        sensor.Queue.Write(new ReadOnlySpan<byte>((void*)data, (int)size), ref sensor._stopping);
        return 0;
    }

    /// <summary>Detaches the programs and stops draining (what was drained stays in <see cref="Queue"/>; the losses can still be read).</summary>
    public void Stop()
    {
        foreach (var link in _links)
            link.Dispose();
        _links.Clear();
        Volatile.Write(ref _stopping, true);
        _drain?.Join();
        _drain = null;
    }

    public void Dispose()
    {
        Stop();
        _ringBuffer?.Dispose(); // before the object: it reads the object's map
        _object.Dispose();
        if (_queueHandle.IsAllocated)
            _queueHandle.Free();
        Queue.Dispose();
    }
}

using System.Collections.Concurrent;
using Platform.Agent.Collectors;

namespace Platform.Agent.Sensor;

/// <summary>What the agent knows of a running process (<see cref="ProcessTable"/>).</summary>
public sealed record SensorProcess(int Tgid, int Ppid, string Name, string? Executable, string? ContainerId, long? Uid);

/// <summary>
/// The processes running on the node, by tgid: seeded from /proc when the sensor starts, then kept by the kernel's
/// exec, fork and exit records. Every event the sensor produces takes its process's name and container from here
/// (the network and file records too: <see cref="Get"/>).
/// </summary>
public sealed class ProcessTable
{
    private readonly ConcurrentDictionary<int, SensorProcess> _processes = new();

    public int Count => _processes.Count;

    /// <summary>The process, or null when the agent does not know it.</summary>
    public SensorProcess? Get(int tgid) => _processes.GetValueOrDefault(tgid);

    /// <summary>Reads every process in /proc (those already known are kept as they are: the kernel's records are newer).</summary>
    public void Seed(string proc = "/proc")
    {
        foreach (var pid in ProcFs.Pids(proc))
        {
            if (!_processes.ContainsKey(pid) && ProcFs.Process(pid, proc) is { } p)
                _processes.TryAdd(pid, new SensorProcess(pid, p.Ppid, p.Name, p.Executable, p.ContainerId, p.Uid));
        }
    }

    /// <summary>A process replaced its image (exec).</summary>
    public SensorProcess Exec(SensorProcess process) => _processes[process.Tgid] = process;

    /// <summary>A new process: until it execs, it runs its parent's image, in its parent's container.</summary>
    public SensorProcess Fork(int parent, int child, string name, long uid)
    {
        var image = Get(parent);
        return _processes[child] = new SensorProcess(child, parent, image?.Name ?? name, image?.Executable, image?.ContainerId, uid);
    }

    /// <summary>A process ended: forgotten, and returned (null when unknown).</summary>
    public SensorProcess? Exit(int tgid) => _processes.TryRemove(tgid, out var gone) ? gone : null;
}

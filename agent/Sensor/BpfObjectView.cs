namespace Platform.Agent.Sensor;

/// <summary>The sensor's BPF object, for the parts of the agent that size or fill its maps (<see cref="KernelSensor.TryLoad"/>).</summary>
public readonly struct BpfObjectView(nint obj)
{
    /// <summary>A map of the object by name (libbpf's struct bpf_map*).</summary>
    public nint Map(string name) => Libbpf.ObjectFindMap(obj, name) is var map and not 0 ? map
        : throw new InvalidOperationException($"the sensor's BPF object has no map {name}");

    /// <summary>A loaded map's file descriptor, for bpf_map_update_elem.</summary>
    public int MapFd(string name) => Libbpf.MapFd(Map(name));
}

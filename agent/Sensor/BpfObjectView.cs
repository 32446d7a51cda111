namespace Platform.Agent.Sensor;

/// <summary>The sensor's BPF object, for the parts of the agent that size or fill its maps (<see cref="KernelSensor.TryLoad"/>).</summary>
public readonly struct BpfObjectView(BpfObjectHandle obj)
{
    /// <summary>A map of the object by name.</summary>
    public BpfMap Map(string name) => Libbpf.ObjectFindMap(obj, name) is var map and not 0 ? new BpfMap(obj, map)
        : throw new InvalidOperationException($"the sensor's BPF object has no map {name}");
}

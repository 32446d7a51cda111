namespace Platform.Agent.Sensor;

/// <summary>
/// A map of the sensor's BPF object (libbpf's struct bpf_map*). Each call holds the object (<see cref="BpfObjectHandle"/>)
/// while it uses the map's descriptor, which the object owns: after the sensor is disposed a call throws
/// <see cref="ObjectDisposedException"/> rather than reach whatever the descriptor's number was given to next.
/// </summary>
public readonly unsafe struct BpfMap(BpfObjectHandle owner, nint map)
{
    /// <summary>bpf_map_update_elem: 0, or a negative errno.</summary>
    public int Update(void* key, void* value, ulong flags = Libbpf.Any)
    {
        using var _ = new HandleLease(owner);
        return Libbpf.MapUpdate(Libbpf.MapFd(map), key, value, flags);
    }

    /// <summary>bpf_map_lookup_elem (a per-CPU map: one value per possible CPU, each rounded up to 8 bytes): 0, or a negative errno.</summary>
    public int Lookup(void* key, void* value)
    {
        using var _ = new HandleLease(owner);
        return Libbpf.MapLookup(Libbpf.MapFd(map), key, value);
    }

    /// <summary>bpf_map_delete_elem: 0, or a negative errno.</summary>
    public int Delete(void* key)
    {
        using var _ = new HandleLease(owner);
        return Libbpf.MapDelete(Libbpf.MapFd(map), key);
    }

    /// <summary>bpf_map__set_max_entries, before the object is loaded: 0, or a negative errno.</summary>
    public int SetMaxEntries(uint entries)
    {
        using var _ = new HandleLease(owner);
        return Libbpf.MapSetMaxEntries(map, entries);
    }

    /// <summary>A reader of this map (a ring buffer) calling <paramref name="sample"/> for each record; invalid (errno set) when libbpf could not make one.</summary>
    public RingBufferHandle OpenRingBuffer(delegate* unmanaged[Cdecl]<nint, nint, nuint, int> sample, nint context)
    {
        using var _ = new HandleLease(owner);
        return Libbpf.RingBufferNew(Libbpf.MapFd(map), sample, context, 0);
    }
}

namespace Platform.Agent.Sensor;

/// <summary>
/// libbpf's struct bpf_object*: the sensor's object with its maps and programs (their descriptors are the object's).
/// Closed once (bpf_object__close), and not while a call holds it: a map's descriptor is used only inside
/// <see cref="BpfMap"/>'s calls, which hold the object, so it is never used after the object is closed.
/// </summary>
public sealed class BpfObjectHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfObjectHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Libbpf.ObjectClose(handle);
        return true;
    }
}

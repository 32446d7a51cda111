namespace Platform.Agent.Sensor;

/// <summary>
/// libbpf's struct ring_buffer*: the reader of the sensor's ring buffer (its epoll descriptor and the map's memory).
/// Freed once (ring_buffer__free), and not while the drain thread is inside a poll of it.
/// </summary>
public sealed class RingBufferHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public RingBufferHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        Libbpf.RingBufferFree(handle);
        return true;
    }
}

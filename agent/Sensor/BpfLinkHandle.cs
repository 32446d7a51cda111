namespace Platform.Agent.Sensor;

/// <summary>libbpf's struct bpf_link*: a program attached; destroyed once (bpf_link__destroy detaches it).</summary>
public sealed class BpfLinkHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public BpfLinkHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => Libbpf.LinkDestroy(handle) == 0;
}

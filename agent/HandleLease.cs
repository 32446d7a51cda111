namespace Platform.Agent;

/// <summary>
/// Holds a <see cref="SafeHandle"/> open for a scope (<c>using var _ = new HandleLease(handle)</c>) in which its raw value,
/// or something it owns (a BPF map's descriptor), is passed to the kernel: a Dispose of the handle meanwhile closes it
/// only when the scope ends. Throws <see cref="ObjectDisposedException"/> when the handle is closed already.
/// </summary>
public readonly ref struct HandleLease
{
    private readonly SafeHandle _handle;

    public HandleLease(SafeHandle handle)
    {
        var added = false;
        handle.DangerousAddRef(ref added); // throws when closed; otherwise added
        _handle = handle;
    }

    /// <summary>The handle's raw value (a descriptor, a pointer), valid until the lease ends.</summary>
    public nint Value => _handle.DangerousGetHandle();

    public void Dispose() => _handle.DangerousRelease();
}

namespace Platform.Agent.Sensor;

/// <summary>How process starts and exits, connections and sensitive file reads are seen (docs/sensor.md).</summary>
public enum SensorMode
{
    /// <summary>The kernel sensor when it loads, else the fallback collectors (the heartbeat says why).</summary>
    Auto,

    /// <summary>The kernel sensor or nothing: when it cannot load, the agent says why on stderr and exits with code 3.</summary>
    Ebpf,

    /// <summary>The proc connector, /proc scans and fanotify, as before the kernel sensor.</summary>
    Fallback,

    /// <summary>No process or network flight data.</summary>
    None,
}

/// <summary>
/// Bound from <c>Platform:Agent:Sensor</c> (<c>Platform__Agent__Sensor__Mode=ebpf</c>, ...), checked at start
/// (<see cref="Problem"/>: exit code 2).
/// </summary>
public sealed class SensorOptions
{
    public const string Section = AgentOptions.Section + ":Sensor";

    /// <summary><c>auto</c> (default), <c>ebpf</c>, <c>fallback</c>, <c>none</c>.</summary>
    public SensorMode Mode { get; set; } = SensorMode.Auto;

    /// <summary>The kernel's ring buffer between the sensor and the agent, in bytes: a power of two, a multiple of the page size, at least 4096 (default 8 MiB).</summary>
    public long RingBufferBytes { get; set; } = 8L << 20;

    /// <summary>
    /// Files whose opens the kernel reports with no FIM rule (FIM globs; default: the detection's list,
    /// <see cref="Platform.Contracts.SensitivePaths.Defaults"/>): <c>Platform__Agent__Sensor__SensitivePaths__0=...</c>.
    /// </summary>
    public string[] SensitivePaths { get; set; } = [.. Platform.Contracts.SensitivePaths.Defaults];

    /// <summary>Files that match <see cref="SensitivePaths"/> but hold nothing secret (CA certificate bundles): not reported (<see cref="Platform.Contracts.SensitivePaths.NotSecretDefaults"/>).</summary>
    public string[] NotSecretPaths { get; set; } = [.. Platform.Contracts.SensitivePaths.NotSecretDefaults];

    /// <summary>How often the sensitive files that exist are looked for again (a file created or hard-linked since), in seconds.</summary>
    public int SensitiveRefreshSeconds { get; set; } = 60;

    /// <summary>What is wrong with these options (null when nothing is).</summary>
    public string? Problem()
    {
        foreach (var (name, paths) in new[] { (nameof(SensitivePaths), SensitivePaths), (nameof(NotSecretPaths), NotSecretPaths) })
        {
            foreach (var path in paths)
            {
                if (!path.StartsWith('/'))
                    return $"{Section}:{name}: '{path}' must be an absolute path (start with '/').";
                if (!Platform.Contracts.FimGlob.TryPath(path, out _, out var problem))
                    return $"{Section}:{name}: '{path}' {problem}.";
            }
        }

        if (SensitiveRefreshSeconds < 1)
            return $"{Section}:SensitiveRefreshSeconds must be at least 1; it is {SensitiveRefreshSeconds}.";
        var page = Environment.SystemPageSize;
        if (RingBufferBytes < 4096 || RingBufferBytes > (1L << 30) || (RingBufferBytes & (RingBufferBytes - 1)) != 0 || RingBufferBytes % page != 0)
            return $"{Section}:RingBufferBytes must be a power of two, a multiple of the page size ({page}), from 4096 to 1073741824; it is {RingBufferBytes}.";
        return null;
    }
}

namespace Platform.Api.Telemetry;

/// <summary>Bound from <c>Platform:Telemetry</c>. The defaults are documented in docs/operations.md.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Platform:Telemetry";

    /// <summary>Stored (compressed) bytes of flight data kept per host, its containers' not counted.</summary>
    public long HostMaxBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Stored (compressed) bytes of flight data kept per container.</summary>
    public long ContainerMaxBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Flight data older than this (by its last event) rolls out, host or container.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the caps are enforced (at most every 30 days); zero turns the background pass off on this instance.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Settings that cannot work, each named: refused when the API starts (see <see cref="Http.CheckedOptions"/>), not at the first pass.</summary>
    public IEnumerable<string> Problems()
    {
        if (RetentionInterval < TimeSpan.Zero || RetentionInterval > TimeSpan.FromDays(30))
            yield return $"{Section}:RetentionInterval must be between 0 (off) and 30 days.";
        if (HostMaxBytes <= 0 || ContainerMaxBytes <= 0 || MaxAge <= TimeSpan.Zero || PinBefore < TimeSpan.Zero || PinAfter < TimeSpan.Zero || PinnedAfterArchive < TimeSpan.Zero)
            yield return $"{Section}: byte caps and MaxAge must be positive, pin margins and PinnedAfterArchive not negative.";
    }

    /// <summary>An incident keeps the data from this long before its first event...</summary>
    public TimeSpan PinBefore { get; set; } = TimeSpan.FromHours(1);

    /// <summary>...to this long after its last.</summary>
    public TimeSpan PinAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Pinned data is kept this long after its incident is archived.</summary>
    public TimeSpan PinnedAfterArchive { get; set; } = TimeSpan.FromDays(90);
}

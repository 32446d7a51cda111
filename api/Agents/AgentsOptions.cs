namespace Platform.Api.Agents;

/// <summary>Bound from <c>Platform:Agents</c> (docs/detection.md, "sensor-silent").</summary>
public sealed class AgentsOptions
{
    public const string Section = "Platform:Agents";

    /// <summary>An agent that sent heartbeats and then none for this long gets a <c>sensor-silent</c> incident.</summary>
    public TimeSpan SilentAfter { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>How often an API instance looks for silent agents.</summary>
    public TimeSpan SilenceScanInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Silent agents one look takes at most (the longest silent first); the rest wait for the next one.</summary>
    public int SilenceScanBatch { get; set; } = 100;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (SilentAfter < TimeSpan.FromSeconds(10) || SilentAfter > TimeSpan.FromDays(7))
            yield return $"{Section}:SilentAfter must be between 10 seconds and 7 days.";
        if (SilenceScanInterval < TimeSpan.FromSeconds(1) || SilenceScanInterval > TimeSpan.FromHours(1))
            yield return $"{Section}:SilenceScanInterval must be between 1 second and 1 hour.";
        if (SilenceScanBatch is < 1 or > 10_000)
            yield return $"{Section}:SilenceScanBatch must be between 1 and 10000.";
    }
}

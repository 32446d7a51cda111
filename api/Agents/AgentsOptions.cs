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
}

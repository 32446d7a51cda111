using Platform.Api.Agents;
using Platform.Api.Telemetry;

namespace Platform.Api.Forensics;

/// <summary>What a bundle holds: a host (its containers included) or one of its containers, from..until inclusive.</summary>
public sealed record BundleScope(AgentRow Agent, string? ContainerId, DateTimeOffset From, DateTimeOffset Until)
{
    public SegmentFilter Segments => new(Agent.AgentId, ContainerId);

    /// <summary>The reader's until is exclusive.</summary>
    public DateTimeOffset UntilExclusive => Until.AddTicks(1);
}

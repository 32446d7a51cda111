using Platform.Api.Telemetry;

namespace Platform.Api.Forensics;

/// <summary>
/// What a bundle holds besides its events and alerts; <c>Events</c> counts the events of the segments in its window (its
/// build's cost). <c>State</c> is an incident bundle's <c>final</c> or <c>provisional</c> (null for host and container
/// bundles); <c>Incident</c> is the incident a final bundle is kept for.
/// </summary>
public sealed record BundlePlan(BundleScope Scope, string Identity, long Events, Inventory Inventory, IReadOnlyList<SequenceGap> Gaps, IReadOnlyList<BundleExtra> Extras, string? State = null, string? Incident = null)
{
    /// <summary>The losses the agent reported that overlap the window (its sensor overflowed, it was down).</summary>
    public IReadOnlyList<ReportedGap> ReportedGaps { get; init; } = [];
}

namespace Platform.Api.Incidents;

/// <summary>Where a page of a sorted incident list ended: its last incident's sort key (the rank counts only for -severity).</summary>
public sealed record IncidentPosition(int SeverityRank, DateTimeOffset LastSeen, string IncidentId)
{
    /// <summary>The rank is IncidentSeverity's place in openapi.yaml, as the incident table's severity_rank column has it (migration 0021).</summary>
    public static IncidentPosition Of(IncidentRow row) => new((int)SpecEnum.FromSpec<IncidentSeverity>(row.Severity), row.LastSeen, row.IncidentId);
}

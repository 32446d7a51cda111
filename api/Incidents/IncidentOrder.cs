namespace Platform.Api.Incidents;

/// <summary>
/// An order of listIncidents besides the change order (IncidentSort in openapi.yaml): its cursor, its ORDER BY and what comes
/// after a position. Each is a range of one index (migration 0021) read forwards or backwards, ties broken by the incident id,
/// so a page reads about limit rows whatever the size of the table.
/// </summary>
public sealed record IncidentOrder(CursorList<IncidentPosition> Cursor, string OrderBy, string After)
{
    private static readonly IncidentOrder LastSeenDescending = new(CursorLists.IncidentsByLastSeenDescending,
        "last_seen desc, incident_id desc", "(last_seen, incident_id) < (@afterSeen, @afterId)");

    private static readonly IncidentOrder LastSeen = new(CursorLists.IncidentsByLastSeen,
        "last_seen, incident_id", "(last_seen, incident_id) > (@afterSeen, @afterId)");

    private static readonly IncidentOrder SeverityDescending = new(CursorLists.IncidentsBySeverityDescending,
        "severity_rank desc, last_seen desc, incident_id desc", "(severity_rank, last_seen, incident_id) < (@afterRank, @afterSeen, @afterId)");

    /// <summary>The order of <paramref name="sort"/>; null for <see cref="IncidentSort.Changed"/>, which pages by change number.</summary>
    public static IncidentOrder? For(IncidentSort sort) => sort switch
    {
        IncidentSort.LastSeenDescending => LastSeenDescending,
        IncidentSort.LastSeen => LastSeen,
        IncidentSort.SeverityDescending => SeverityDescending,
        _ => null,
    };
}

using Platform.Api.Telemetry;

namespace Platform.Api.Incidents;

/// <summary>Stored incidents, findings and notes as the API shows them (the endpoints, and the webhooks that carry incidents).</summary>
public static class IncidentContracts
{
    public static Incident ToContract(IncidentRow row) => new()
    {
        Id = row.IncidentId,
        Category = SpecEnum.FromSpec<IncidentCategory>(row.Category),
        Severity = SpecEnum.FromSpec<IncidentSeverity>(row.Severity),
        Status = SpecEnum.FromSpec<IncidentStatus>(row.Status),
        Resolution = row.Resolution is null ? null : SpecEnum.FromSpec<IncidentResolution>(row.Resolution),
        ResolutionReason = row.ResolutionReason,
        Assignee = row.Assignee,
        Resource = new IncidentResource
        {
            AgentId = row.AgentId, Hostname = row.Hostname, ContainerId = row.ContainerId.Length == 0 ? null : row.ContainerId, ContainerName = row.ContainerName, Image = row.Image,
        },
        Summary = row.Summary,
        Techniques = row.Techniques.Split(',', StringSplitOptions.RemoveEmptyEntries),
        FindingCount = row.FindingCount,
        FirstSeen = row.FirstSeen,
        LastSeen = row.LastSeen,
        CreatedAt = row.CreatedAt,
        UpdatedAt = row.UpdatedAt,
        Version = row.Version,
        RelatedIncidents = row.Related.Split(',', StringSplitOptions.RemoveEmptyEntries),
        History = (JsonSerializer.Deserialize<List<IncidentHistoryRecord>>(row.HistoryJson, IncidentStore.HistoryJson) ?? []).Select(h => new IncidentHistoryEntry
        {
            At = h.At, Actor = h.Actor, From = SpecEnum.FromSpec<IncidentStatus>(h.From), To = SpecEnum.FromSpec<IncidentStatus>(h.To),
            Resolution = h.Resolution is null ? null : SpecEnum.FromSpec<IncidentResolution>(h.Resolution), Reason = h.Reason,
            PreviousResolution = h.PreviousResolution is null ? null : SpecEnum.FromSpec<IncidentResolution>(h.PreviousResolution), PreviousResolutionReason = h.PreviousResolutionReason,
        }).ToList(),
        Links = new IncidentLinks
        {
            Findings = $"/api/v1/incidents/{row.IncidentId}/findings",
            Risk = $"/api/v1/incidents/{row.IncidentId}/risk",
            ForensicView = row.ContainerId.Length == 0 ? $"/api/v1/agents/{row.AgentId}/forensics/recent" : $"/api/v1/agents/{row.AgentId}/containers/{Uri.EscapeDataString(row.ContainerId)}/forensics/recent",
            Bundle = $"/api/v1/incidents/{row.IncidentId}/bundle",
        },
    };

    public static IncidentFinding ToContract(FindingRow row)
    {
        var detail = JsonSerializer.Deserialize<FindingDetail>(row.DetailJson, Segments.Json)!;
        return new IncidentFinding
        {
            Id = row.FindingId,
            Rule = SpecEnum.FromSpec<DetectionRule>(row.Rule),
            Time = row.Time,
            Summary = row.Summary,
            Lineage = detail.Lineage,
            Events = detail.Events.Select(e => e.Deserialize(Segments.EventInfo)!).ToList(),
            FimAlertIds = detail.FimAlertIds,
        };
    }

    public static IncidentNote ToContract(NoteRow row) => new() { Id = row.NoteId, Text = row.Text, Author = row.Author, CreatedAt = row.CreatedAt };
}

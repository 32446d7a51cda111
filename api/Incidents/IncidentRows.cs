namespace Platform.Api.Incidents;

public sealed class IncidentRow
{
    public required string IncidentId { get; init; }
    public long ChangeSeq { get; set; }
    public required string Category { get; init; }
    public required string Severity { get; set; }
    public required string Status { get; set; }
    public string? Resolution { get; set; }
    public string? ResolutionReason { get; set; }
    public string? Assignee { get; set; }
    public required string AgentId { get; init; }
    public required string Hostname { get; init; }
    public required string ContainerId { get; init; }
    public string? ContainerName { get; set; }
    public string? Image { get; set; }
    public required string Summary { get; set; }
    public required string Techniques { get; set; }
    public int FindingCount { get; set; }
    public DateTimeOffset FirstSeen { get; set; }
    public DateTimeOffset LastSeen { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public int Version { get; set; }
    public string? PinId { get; set; }

    /// <summary>The chain its findings belong to: pids of their lineages' processes (no inits or supervisors), sorted, comma-separated.</summary>
    public string Processes { get; set; } = "";

    /// <summary>Incidents of the same chain, comma-separated, in the order they were linked.</summary>
    public string Related { get; set; } = "";

    /// <summary>Its status changes (<see cref="IncidentHistoryRecord"/>), a JSON array, oldest first.</summary>
    public string HistoryJson { get; set; } = "[]";
}

/// <summary>One status change as the incident keeps it (<c>history_json</c>).</summary>
public sealed record IncidentHistoryRecord(
    DateTimeOffset At, string? Actor, string From, string To, string? Resolution, string? Reason, string? PreviousResolution, string? PreviousResolutionReason);

public sealed class FindingRow
{
    public required string FindingId { get; init; }
    public required string IncidentId { get; init; }
    public required string Rule { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required string Summary { get; init; }
    public required string DetailJson { get; init; }
}

public sealed class NoteRow
{
    public required string NoteId { get; init; }
    public required string IncidentId { get; init; }
    public required string Text { get; init; }
    public string? Author { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What a finding keeps besides its summary: lineage, evidence events (as stored) and FIM alert ids.</summary>
public sealed record FindingDetail(IReadOnlyList<LineageProcess> Lineage, IReadOnlyList<JsonElement> Events, IReadOnlyList<string> FimAlertIds);

public sealed record IncidentQuery(
    IReadOnlyCollection<IncidentStatus>? Status, IReadOnlyCollection<IncidentCategory>? Category, IReadOnlyCollection<IncidentSeverity>? Severity,
    string? AgentId, string? Hostname, string? ContainerId, DateTimeOffset? Since, DateTimeOffset? Until, DateTimeOffset? UpdatedAfter)
{
    /// <summary>Why a window that ends before it starts is refused (it would match nothing: surely a mistake).</summary>
    public const string WindowOutOfOrder = "'since' must not be after 'until'.";

    public bool IsEmpty => Status is not { Count: > 0 } && Category is not { Count: > 0 } && Severity is not { Count: > 0 } && AgentId is null && Hostname is null
        && ContainerId is null && Since is null && Until is null && UpdatedAfter is null;
}

/// <summary>
/// What <see cref="IncidentStore.RecordAsync"/> did: every incident created or changed (<paramref name="Touched"/>, as it
/// is at the end), those it created, and those that took new findings (their events' span may have grown).
/// </summary>
public sealed record RecordedIncidents(IReadOnlyList<IncidentRow> Touched, IReadOnlySet<string> Created, IReadOnlySet<string> Grown);

/// <summary>Why a change was refused: not there (404), stale If-Match (412), not allowed from its status (409).</summary>
public enum ChangeRefusal
{
    None,
    NotFound,
    Stale,
    NotAllowed,
}

namespace Platform.Api.Fim;

/// <summary>One alert of a batch, checked and described, ready to store or fold.</summary>
public sealed record IncomingAlert(
    string ClientId,
    DateTimeOffset Time,
    string FoldKey,
    string Path,
    string Action,
    string Effect,
    string RuleId,
    int RuleVersion,
    string RuleName,
    string Severity,
    string DetailsJson,
    string Description);

public sealed class FimAlertRow
{
    public required string AlertId { get; init; }
    public required string AgentId { get; init; }
    public required string Hostname { get; init; }
    public required string Path { get; init; }
    public required string Action { get; init; }
    public required string Effect { get; init; }
    public required string RuleId { get; init; }
    public required int RuleVersion { get; init; }
    public required string RuleName { get; init; }
    public required string Severity { get; init; }
    public required string DetailsJson { get; init; }
    public required string Description { get; init; }
    public required long Count { get; init; }
    public required DateTimeOffset FirstSeen { get; init; }
    public required DateTimeOffset LastSeen { get; init; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public string? AcknowledgedBy { get; init; }
}

public sealed record FimAlertFilter(
    string? Hostname, string? AgentId, string? RuleId, string? PathPrefix, Platform.Contracts.FimGlob? PathGlob,
    string? Action, string? Effect, string? Severity, DateTimeOffset? Since, DateTimeOffset? Until);

public sealed record IngestResult(int Stored, int Folded, int Duplicates);

/// <summary>The alerts of an agent in a window, summed up: see <see cref="FimAlertStore.WindowAsync"/>.</summary>
public sealed class FimAlertWindow
{
    public required long Alerts { get; init; }
    public required long Sightings { get; init; }
    public required string LastId { get; init; }
    public required string LastSeen { get; init; }
    public required long Acknowledged { get; init; }
    public required string LastAcknowledged { get; init; }
}

/// <summary>The alerts one bounded read found; when there may be more, the next read starts after <c>ResumeAfter</c>.</summary>
public sealed record AlertScan(IReadOnlyList<FimAlertRow> Rows, string? ResumeAfter, bool More);

using Microsoft.AspNetCore.Components;

namespace Platform.WebConsole.Incidents;

/// <summary>
/// The incident queue's filters and sort, as the page's URL carries them (<c>?status=open&amp;severity=critical</c>): a
/// filtered queue pasted into a ticket opens filtered. Values are the API's own names; one that is not is left out.
/// </summary>
public sealed record IncidentQuery(
    IReadOnlyList<IncidentStatus> Status,
    IReadOnlyList<IncidentSeverity> Severity,
    IReadOnlyList<IncidentCategory> Category,
    string? Hostname,
    string? ContainerId,
    DateTimeOffset? Since,
    DateTimeOffset? Until,
    IncidentSort Sort)
{
    /// <summary>What on-call wants first: the most recently seen. (The API's own default is the pollers' change order.)</summary>
    public const IncidentSort DefaultSort = IncidentSort.LastSeenDescending;

    public static readonly IncidentQuery None = From(null, null, null, null, null, null, null, null);

    public static IncidentQuery From(string[]? status, string[]? severity, string[]? category, string? hostname, string? container, string? since, string? until, string? sort) => new(
        Parse<IncidentStatus>(status), Parse<IncidentSeverity>(severity), Parse<IncidentCategory>(category),
        Filters.Blank(hostname), Filters.Blank(container), Time(since), Time(until), Filters.Parse<IncidentSort>(sort) ?? DefaultSort);

    /// <summary>The page's address for these filters.</summary>
    public string ToUri(NavigationManager navigation) => navigation.GetUriWithQueryParameters("incidents", new Dictionary<string, object?>
    {
        ["status"] = Names(Status),
        ["severity"] = Names(Severity),
        ["category"] = Names(Category),
        ["host"] = Hostname,
        ["container"] = ContainerId,
        ["since"] = Since?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        ["until"] = Until?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        ["sort"] = Sort == DefaultSort ? null : SpecNames<IncidentSort>.Name(Sort),
    });

    /// <summary>The same filters with one status only (a count's link), or every status.</summary>
    public IncidentQuery WithStatus(IncidentStatus? status) => this with { Status = status is { } s ? [s] : [] };

    /// <summary>The same filters for a bulk change (changeIncidentsInBulk).</summary>
    public IncidentFilter ToFilter() => new()
    {
        Status = Status.Count > 0 ? [.. Status] : null,
        Severity = Severity.Count > 0 ? [.. Severity] : null,
        Category = Category.Count > 0 ? [.. Category] : null,
        Hostname = Hostname,
        ContainerId = ContainerId,
        Since = Since,
        Until = Until,
    };

    private static List<T> Parse<T>(string[]? values) where T : struct, Enum =>
        [.. (values ?? []).Select(v => SpecNames<T>.TryParse(v, out var parsed) ? (T?)parsed : null).OfType<T>().Distinct()];

    private static string[]? Names<T>(IReadOnlyList<T> values) where T : struct, Enum => values.Count > 0 ? [.. values.Select(SpecNames<T>.Name)] : null;

    private static DateTimeOffset? Time(string? text) =>
        DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) ? time.ToUniversalTime() : null;
}

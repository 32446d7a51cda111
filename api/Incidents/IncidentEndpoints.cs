using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Forensics;
using Platform.Api.Generated;
using Platform.Api.Ocsf;
using Platform.Api.Telemetry;
using static Platform.Api.Incidents.IncidentContracts;

namespace Platform.Api.Incidents;

public sealed class IncidentEndpoints(IncidentStore store, IncidentWorkflow workflow, RiskContexts risks, AgentStore agents, ForensicBundles bundles, BundleDownloads downloads, TelemetryOptions telemetry, DetectionOptions detection, TimeProvider time, Cursors cursors) : IncidentsHandlersBase
{
    public override async Task<Results<Ok<IncidentPage>, PushStreamHttpResult, ProblemHttpResult>> ListIncidents(HttpContext http, int limit, string? cursor, IEnumerable<IncidentStatus>? status, IEnumerable<IncidentCategory>? category,
        IEnumerable<IncidentSeverity>? severity, string? agentId, string? hostname, string? containerId, DateTimeOffset? since, DateTimeOffset? until, DateTimeOffset? updatedAfter,
        IncidentSort sort, ListFormat format, CancellationToken cancellationToken)
    {
        var query = Query(status, category, severity, agentId, hostname, containerId, since, until, updatedAfter);
        if (Refused(query) is { } refused)
            return refused;
        if (IncidentOrder.For(sort) is { } order)
        {
            var (sorted, lastChange) = await store.ListAsync(query, order, cursors.TryDecode(order.Cursor, cursor, out var from) ? from : null, limit + 1, cancellationToken);
            var (page, nextPage) = cursors.Page(sorted, limit, order.Cursor, IncidentPosition.Of);
            // In the change order whatever this page's order: what changed after it was read comes after this cursor.
            return Page(http, format, page, nextPage, cursors.Encode(CursorLists.Incidents, lastChange), cancellationToken);
        }

        var after = cursors.TryDecode(CursorLists.Incidents, cursor, out var position) ? position : 0;
        var (rows, last) = await store.ListAsync(query, after, limit + 1, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Incidents, row => row.ChangeSeq);
        // Where a poller goes on from: the last incident returned, or (nothing more now) every change looked at.
        var resume = next is not null ? items[^1].ChangeSeq : Math.Max(after, last);
        return Page(http, format, items, next, cursors.Encode(CursorLists.Incidents, resume), cancellationToken);
    }

    /// <summary>
    /// A page of incidents as the page document, or (<c>format=ocsf</c>) as OCSF NDJSON: each incident an Incident
    /// Finding followed by its findings (the first <see cref="OcsfIncidents.MaxFindings"/>) as Detection Findings, the
    /// cursors in headers.
    /// </summary>
    private Results<Ok<IncidentPage>, PushStreamHttpResult, ProblemHttpResult> Page(HttpContext http, ListFormat format, IReadOnlyList<IncidentRow> rows, string? next, string resume,
        CancellationToken cancellationToken)
    {
        if (format != ListFormat.Ocsf)
            return TypedResults.Ok(new IncidentPage { Items = rows.Select(ToContract).ToList(), NextCursor = next, ResumeCursor = resume });

        http.Response.Headers["X-Resume-Cursor"] = resume;
        var consoleBase = new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/");
        return OcsfLines.Stream(http, next, Lines());

        async IAsyncEnumerable<System.Text.Json.Nodes.JsonObject> Lines()
        {
            // Findings are read for a group of incidents at a time: few queries, and at most a group's findings in memory.
            foreach (var group in rows.Chunk(OcsfIncidents.FindingsReadTogether))
            {
                var findingsOf = await store.FindingsOfAsync(group.Select(r => r.IncidentId).ToList(), OcsfIncidents.MaxFindings, cancellationToken);
                foreach (var row in group)
                {
                    var incident = ToContract(row);
                    var findings = findingsOf[row.IncidentId].Select(ToContract).ToList();
                    yield return OcsfIncidents.IncidentFinding(incident, findings, consoleBase);
                    foreach (var finding in findings)
                        yield return OcsfIncidents.DetectionFinding(incident, finding);
                }
            }
        }
    }

    public override async Task<Results<Ok<IncidentCounts>, ProblemHttpResult>> CountIncidents(HttpContext http, IEnumerable<IncidentCategory>? category, IEnumerable<IncidentSeverity>? severity,
        string? agentId, string? hostname, string? containerId, DateTimeOffset? since, DateTimeOffset? until, DateTimeOffset? updatedAfter, CancellationToken cancellationToken)
    {
        var query = Query(null, category, severity, agentId, hostname, containerId, since, until, updatedAfter);
        if (Refused(query) is { } refused)
            return refused;
        var counts = await store.CountByStatusAsync(query, cancellationToken);
        int Count(IncidentStatus status) => counts.GetValueOrDefault(SpecEnum.ToSpec(status));
        return TypedResults.Ok(new IncidentCounts
        {
            Open = Count(IncidentStatus.Open),
            Acknowledged = Count(IncidentStatus.Acknowledged),
            Resolved = Count(IncidentStatus.Resolved),
            Archived = Count(IncidentStatus.Archived),
            Total = counts.Values.Sum(),
        });
    }

    public override async Task<Results<Ok<Incident>, ProblemHttpResult>> GetIncident(HttpContext http, string incidentId, CancellationToken cancellationToken)
    {
        return await store.FindAsync(incidentId, cancellationToken) is { } row ? Ok(http, row) : NotFound(incidentId);
    }

    public override async Task<Results<Ok<Incident>, ProblemHttpResult>> ChangeIncidentStatus(HttpContext http, string? if_Match, IncidentStatusChange body, string incidentId, CancellationToken cancellationToken)
    {
        var (row, refusal) = await workflow.ChangeStatusAsync(incidentId, if_Match, body, http.Caller(), ToContract, cancellationToken);
        return Answer(http, incidentId, row, refusal, body.Status);
    }

    public override async Task<Results<Ok<Incident>, ProblemHttpResult>> AssignIncident(HttpContext http, string? if_Match, IncidentAssignment body, string incidentId, CancellationToken cancellationToken)
    {
        var (row, refusal) = await workflow.AssignAsync(incidentId, if_Match, body.Assignee?.Trim(), http.Caller(), ToContract, cancellationToken);
        return Answer(http, incidentId, row, refusal, null);
    }

    private static Results<Ok<Incident>, ProblemHttpResult> Answer(HttpContext http, string incidentId, IncidentRow? row, ChangeRefusal refusal, IncidentStatus? wanted) => refusal switch
    {
        ChangeRefusal.NotFound => NotFound(incidentId),
        ChangeRefusal.Stale => Problems.PreconditionFailed($"Incident '{incidentId}' is at version {row!.Version} (ETag {ETags.For(row.Version)}); read it again and retry."),
        ChangeRefusal.NotAllowed => Problems.Conflict(
            $"Incident '{incidentId}' is {row!.Status}; the lifecycle does not go from {row.Status} to {SpecEnum.ToSpec(wanted!.Value)} (open -> acknowledged -> resolved -> archived; any may be archived; reopen with status open)."),
        _ => Ok(http, row!),
    };

    private static Ok<Incident> Ok(HttpContext http, IncidentRow row) => ETags.Ok(http, row.Version, ToContract(row));

    public override async Task<Results<Ok<IncidentBulkResult>, ProblemHttpResult>> ChangeIncidentsInBulk(HttpContext http, IncidentBulkChange body, CancellationToken cancellationToken) =>
        TypedResults.Ok(await workflow.ChangeInBulkAsync(Query(body.Filter), body.Change, body.DryRun == true, http.Caller(), ToContract, cancellationToken));

    public override async Task<Results<Ok<IncidentNotePage>, ProblemHttpResult>> ListIncidentNotes(HttpContext http, int limit, string? cursor, string incidentId, CancellationToken cancellationToken)
    {
        var page = await cursors.PageAsync(CursorLists.IncidentNotes, cursor, limit, async (after, take) =>
            await store.FindAsync(incidentId, cancellationToken) is null ? null : await store.NotesAsync(incidentId, after, take, cancellationToken), n => n.NoteId);
        return page is var (items, next) ? TypedResults.Ok(new IncidentNotePage { Items = items.Select(ToContract).ToList(), NextCursor = next }) : NotFound(incidentId);
    }

    public override async Task<Results<Created<IncidentNote>, ProblemHttpResult>> AddIncidentNote(HttpContext http, IncidentNoteSpec body, string incidentId, CancellationToken cancellationToken)
    {
        var note = await workflow.AddNoteAsync(incidentId, body.Text, http.Caller(), cancellationToken);
        return note is null ? NotFound(incidentId) : TypedResults.Created($"/api/v1/incidents/{incidentId}/notes", ToContract(note));
    }

    public override async Task<Results<Ok<IncidentFindingPage>, ProblemHttpResult>> ListIncidentFindings(HttpContext http, int limit, string? cursor, string incidentId, CancellationToken cancellationToken)
    {
        (DateTimeOffset, string)? after = cursors.TryDecode(CursorLists.IncidentFindings, cursor, out var key) ? key : null;
        if (await store.FindAsync(incidentId, cancellationToken) is null)
            return NotFound(incidentId);

        var rows = await store.FindingsAsync(incidentId, after, limit + 1, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.IncidentFindings, f => (f.Time, f.FindingId));
        return TypedResults.Ok(new IncidentFindingPage { Items = items.Select(ToContract).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<RiskContext>, ProblemHttpResult>> GetIncidentRisk(HttpContext http, string incidentId, CancellationToken cancellationToken)
    {
        var row = await store.FindAsync(incidentId, cancellationToken);
        return row is null ? NotFound(incidentId) : TypedResults.Ok(await risks.ComputeAsync(row, cancellationToken));
    }

    public override async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, NotModified, ProblemHttpResult>> GetIncidentBundle(HttpContext http, string? if_None_Match, string? range, string? if_Range, string incidentId, CancellationToken cancellationToken)
    {
        var row = await store.FindAsync(incidentId, cancellationToken);
        var agent = row is null ? null : await agents.FindAsync(row.AgentId, cancellationToken);
        if (row is null || agent is null)
            return NotFound(incidentId);
        var target = new BundleDownloads.Target("incident", incidentId);
        var fileName = $"incident-{incidentId}.zip";
        if (await bundles.FinalAsync(incidentId, cancellationToken) is { } final)
            return await downloads.ServeFinalAsync(http, final, if_None_Match, fileName, target, cancellationToken);

        // The incident with every finding, and its risk context: entries of the bundle, part of its identity.
        var findings = new List<IncidentFinding>();
        (DateTimeOffset, string)? after = null;
        while (true)
        {
            var page = await store.FindingsAsync(incidentId, after, 500, cancellationToken);
            findings.AddRange(page.Select(ToContract));
            if (page.Count < 500)
                break;
            after = (page[^1].Time, page[^1].FindingId);
        }

        var json = new JsonSerializerOptions(Segments.Json) { WriteIndented = true };
        var incident = JsonSerializer.SerializeToUtf8Bytes(new { incident = ToContract(row), findings }, json);
        var risk = JsonSerializer.SerializeToUtf8Bytes(await risks.ComputeAsync(row, cancellationToken), json);
        var scope = await bundles.ScopeAsync(agent, row.ContainerId.Length == 0 ? null : row.ContainerId, row.FirstSeen - telemetry.PinBefore, row.LastSeen + telemetry.PinAfter, cancellationToken);
        var plan = await bundles.PlanAsync(scope, cancellationToken, [new BundleExtra("incident.json", incident), new BundleExtra("risk.json", risk)], BundleState(row), incidentId);
        return await downloads.AnswerAsync(http, plan, if_None_Match, fileName, http.Request.Path.Value!, target, cancellationToken);
    }

    /// <summary>
    /// Final once the window has closed: its end (lastSeen + PinAfter) has passed, and no finding can join the incident
    /// to move it (resolved or archived, or the group window since lastSeen has passed). docs/bundle-format.md.
    /// </summary>
    private string BundleState(IncidentRow row)
    {
        var now = time.GetUtcNow();
        var closed = row.Status is "resolved" or "archived" || now > row.LastSeen + detection.GroupWindow;
        return now > row.LastSeen + telemetry.PinAfter && closed ? ForensicBundles.Final : ForensicBundles.Provisional;
    }

    /// <summary>What the query parameters cannot say alone (each is valid by itself): the window's order.</summary>
    private static ProblemHttpResult? Refused(IncidentQuery query) =>
        query.Since > query.Until ? Problems.Validation("since", IncidentQuery.WindowOutOfOrder) : null;

    private static ProblemHttpResult NotFound(string incidentId) => Problems.NotFound($"There is no incident '{incidentId}'.");

    private static IncidentQuery Query(IEnumerable<IncidentStatus>? status, IEnumerable<IncidentCategory>? category, IEnumerable<IncidentSeverity>? severity, string? agentId, string? hostname,
        string? containerId, DateTimeOffset? since, DateTimeOffset? until, DateTimeOffset? updatedAfter) =>
        new(status?.ToList(), category?.ToList(), severity?.ToList(), agentId, hostname, containerId, since?.ToUniversalTime(), until?.ToUniversalTime(), updatedAfter?.ToUniversalTime());

    internal static IncidentQuery Query(IncidentFilter? filter) => filter is null
        ? new IncidentQuery(null, null, null, null, null, null, null, null, null)
        : new IncidentQuery(filter.Status?.ToList(), filter.Category?.ToList(), filter.Severity?.ToList(), filter.AgentId, filter.Hostname, filter.ContainerId,
            filter.Since?.ToUniversalTime(), filter.Until?.ToUniversalTime(), null);
}

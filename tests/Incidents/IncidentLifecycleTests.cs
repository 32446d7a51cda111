using System.Net;
using System.Net.Http.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>Acknowledge, resolve, archive, reopen; If-Match; assignment; notes; bulk changes; audit.</summary>
public abstract class IncidentLifecycleTests(PlatformApi api)
{
    private async Task<(IncidentScenario Scenario, Incident Incident)> ShellIncidentAsync(string container = "7f9c2ba4e88f")
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], new ContainerRef { Id = container }, "/bin/sh"));
        return (s, Assert.Single(await s.IncidentsAsync()));
    }

    private static IncidentStatusChange To(IncidentStatus status, IncidentResolution? resolution = null, string? reason = null) =>
        new() { Status = status, Resolution = resolution, Reason = reason };

    [SkippableFact]
    public async Task An_incident_goes_through_its_lifecycle_and_every_change_is_audited()
    {
        var (_, incident) = await ShellIncidentAsync();
        var admin = api.Admin();
        var (operatorClient, _) = await api.ClientWithRole(Role.Operator);

        var acknowledged = await operatorClient.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged), incident.Id, $"\"{incident.Version}\"");
        Assert.Equal((IncidentStatus.Acknowledged, incident.Version + 1), (acknowledged.Status, acknowledged.Version));
        var resolved = await operatorClient.ChangeIncidentStatusAsync(To(IncidentStatus.Resolved, IncidentResolution.FalsePositive, "Health check script."), incident.Id);
        Assert.Equal((IncidentStatus.Resolved, IncidentResolution.FalsePositive, "Health check script."), (resolved.Status, resolved.Resolution, resolved.ResolutionReason));
        var archived = await operatorClient.ChangeIncidentStatusAsync(To(IncidentStatus.Archived), incident.Id);
        Assert.Equal((IncidentStatus.Archived, IncidentResolution.FalsePositive), (archived.Status, archived.Resolution));
        var reopened = await operatorClient.ChangeIncidentStatusAsync(To(IncidentStatus.Open, reason: "It came back."), incident.Id);
        Assert.Equal((IncidentStatus.Open, (IncidentResolution?)null, incident.Version + 4), (reopened.Status, reopened.Resolution, reopened.Version));

        var audit = await admin.ListAuditEntriesAsync(limit: 50, targetType: "incident", targetId: incident.Id);
        Assert.Equal(["incident.acknowledge", "incident.resolve", "incident.archive", "incident.reopen"], audit.Items.Select(a => a.Action));
        Assert.Equal(("open", "acknowledged"), (audit.Items[0].Before!.AdditionalProperties["status"].ToString(), audit.Items[0].After!.AdditionalProperties["status"].ToString()));
    }

    [SkippableFact]
    public async Task Changes_the_lifecycle_does_not_allow_are_409_and_a_stale_etag_is_412()
    {
        var (_, incident) = await ShellIncidentAsync();
        var admin = api.Admin();
        await admin.ChangeIncidentStatusAsync(To(IncidentStatus.Resolved, IncidentResolution.Benign, "Expected."), incident.Id);

        var conflict = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged), incident.Id));
        Assert.Equal(409, conflict.StatusCode);
        Assert.Contains("resolved", conflict.Result.Detail);
        var stale = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.ChangeIncidentStatusAsync(To(IncidentStatus.Archived), incident.Id, $"\"{incident.Version}\""));
        Assert.Equal(412, stale.StatusCode);
        var unchanged = await admin.GetIncidentAsync(incident.Id);
        Assert.Equal(IncidentStatus.Resolved, unchanged.Status);

        // Resolving needs a resolution and a reason; a resolution goes with resolving only.
        var (_, other) = await ShellIncidentAsync();
        var missing = await ProblemAssert.FieldErrors(() => admin.ChangeIncidentStatusAsync(To(IncidentStatus.Resolved), other.Id));
        Assert.Contains("resolution", missing.Keys);
        Assert.Contains("reason", missing.Keys);
        await ProblemAssert.FieldErrors(() => admin.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged, IncidentResolution.Benign), other.Id));
        var notFound = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.GetIncidentAsync("inc_00000000000000000000000000000000"));
        Assert.Equal(404, notFound.StatusCode);
    }

    [SkippableFact]
    public async Task Analysts_read_but_do_not_change_and_agents_do_neither()
    {
        var (s, incident) = await ShellIncidentAsync();
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);
        Assert.Equal(incident.Id, (await analyst.GetIncidentAsync(incident.Id)).Id);
        var refused = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => analyst.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged), incident.Id));
        Assert.Equal(403, refused.StatusCode);
        var agent = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => s.Agent.ListIncidentsAsync());
        Assert.Equal(403, agent.StatusCode);
    }

    [SkippableFact]
    public async Task Assignment_and_notes_change_the_incident_and_are_kept()
    {
        var (_, incident) = await ShellIncidentAsync();
        var admin = api.Admin();
        var assigned = await admin.AssignIncidentAsync(new IncidentAssignment { Assignee = "alice@example.com" }, incident.Id, $"\"{incident.Version}\"");
        Assert.Equal(("alice@example.com", incident.Version + 1), (assigned.Assignee, assigned.Version));
        var stale = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.AssignIncidentAsync(new IncidentAssignment { Assignee = "bob" }, incident.Id, $"\"{incident.Version}\""));
        Assert.Equal(412, stale.StatusCode);

        await admin.AddIncidentNoteAsync(new IncidentNoteSpec { Text = "Container isolated." }, incident.Id);
        await admin.AddIncidentNoteAsync(new IncidentNoteSpec { Text = "Image rebuilt." }, incident.Id);
        var notes = await admin.ListIncidentNotesAsync(incident.Id, 1);
        Assert.Equal(["Container isolated."], notes.Items.Select(n => n.Text));
        var rest = await admin.ListIncidentNotesAsync(incident.Id, 10, notes.NextCursor);
        Assert.Equal(["Image rebuilt."], rest.Items.Select(n => n.Text));
        Assert.Equal(incident.Version + 3, (await admin.GetIncidentAsync(incident.Id)).Version);

        var unassigned = await admin.AssignIncidentAsync(new IncidentAssignment { Assignee = null }, incident.Id);
        Assert.Null(unassigned.Assignee);
        await ProblemAssert.FieldErrors(() => admin.AddIncidentNoteAsync(new IncidentNoteSpec { Text = "  " }, incident.Id));
    }

    [SkippableFact]
    public async Task Bulk_changes_say_what_they_would_do_then_do_it_in_rounds()
    {
        var s = await StartAsync(api);
        // Five containers, one incident each.
        for (var i = 0; i < 5; i++)
            await s.PushAsync(s.Start(T0.AddSeconds(i), 4230 + i, 4101, "sh", "java", ["sh"], new ContainerRef { Id = $"c0ffee00000{i}" }, "/bin/sh"));
        var all = await s.IncidentsAsync();
        Assert.Equal(5, all.Count);
        var admin = api.Admin();
        await admin.ChangeIncidentStatusAsync(To(IncidentStatus.Acknowledged), all[0].Id);
        await admin.ChangeIncidentStatusAsync(To(IncidentStatus.Resolved, IncidentResolution.Benign, "known"), all[1].Id);

        var filter = new IncidentFilter { AgentId = s.AgentId, Category = [IncidentCategory.ShellFromServer] };
        var acknowledge = new IncidentBulkChange { Filter = filter, Change = To(IncidentStatus.Acknowledged), DryRun = true };
        var dry = await admin.ChangeIncidentsInBulkAsync(acknowledge);
        Assert.Equal((true, 5, 3, 2, 0), (dry.DryRun, dry.Matched, dry.Changed, dry.Skipped, dry.Remaining));
        Assert.Equal(3, (await s.IncidentsAsync()).Count(i => i.Status == IncidentStatus.Open));

        acknowledge.DryRun = false;
        var done = await admin.ChangeIncidentsInBulkAsync(acknowledge);
        Assert.Equal((false, 5, 3, 2, 0), (done.DryRun, done.Matched, done.Changed, done.Skipped, done.Remaining));
        Assert.Equal(4, (await s.IncidentsAsync()).Count(i => i.Status == IncidentStatus.Acknowledged));
        var audit = await admin.ListAuditEntriesAsync(limit: 200, action: "incident.acknowledge");
        Assert.Equal(4, audit.Items.Count(a => all.Any(i => i.Id == a.TargetId)));

        var resolve = new IncidentBulkChange { Filter = new IncidentFilter { AgentId = s.AgentId, Status = [IncidentStatus.Acknowledged] }, Change = To(IncidentStatus.Resolved, IncidentResolution.TruePositive, "Struts2 RCE") };
        Assert.Equal(4, (await admin.ChangeIncidentsInBulkAsync(resolve)).Changed);
        Assert.All(await s.IncidentsAsync(), i => Assert.Equal(IncidentStatus.Resolved, i.Status));

        using var http = api.Http(api.AdminSecret);
        using var empty = await http.PostAsJsonAsync("/api/v1/incidents/bulk", new { filter = new { }, change = new { status = "archived" } });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("empty filter", await empty.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task The_list_filters_and_bad_filters_get_400()
    {
        var (s, incident) = await ShellIncidentAsync("feedc0de0001");
        var admin = api.Admin();
        Assert.Equal([incident.Id], (await admin.ListIncidentsAsync(containerId: "feedc0de0001")).Items.Select(i => i.Id));
        Assert.Equal([incident.Id], (await admin.ListIncidentsAsync(agentId: s.AgentId, status: [IncidentStatus.Open, IncidentStatus.Acknowledged], severity: [IncidentSeverity.High])).Items.Select(i => i.Id));
        Assert.Empty((await admin.ListIncidentsAsync(agentId: s.AgentId, severity: [IncidentSeverity.Low])).Items);
        Assert.Empty((await admin.ListIncidentsAsync(agentId: s.AgentId, since: T0.AddSeconds(1))).Items);
        Assert.Single((await admin.ListIncidentsAsync(agentId: s.AgentId, since: T0, until: T0.AddSeconds(1))).Items);

        using var http = api.Http(api.AdminSecret);
        foreach (var query in new[] { "status=closed", "category=nope", "cursor=xyz", "since=2026-11-22T10:00:00Z&until=2026-11-22T09:00:00Z", "limit=201" })
        {
            using var response = await http.GetAsync($"/api/v1/incidents?{query}");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }
}

public sealed class IncidentLifecycleTestsOnSqlite(SqliteApi api) : IncidentLifecycleTests(api), IClassFixture<SqliteApi>;

public sealed class IncidentLifecycleTestsOnPostgres(PostgresApi api) : IncidentLifecycleTests(api), IClassFixture<PostgresApi>;

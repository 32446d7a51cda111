using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Http.CursorTests;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>
/// listIncidents' orders for people (newest first, most severe first) and countIncidents: each order pages by its own cursor
/// without repeating or skipping an incident when several were seen at the same time, with every filter; the change order
/// stays the default, and resumeCursor stays in it. Each test has an agent of its own and filters by it.
/// </summary>
public abstract class IncidentSortTests(PlatformApi api)
{
    private static readonly IncidentSort[] PeopleSorts = [IncidentSort.LastSeenDescending, IncidentSort.LastSeen, IncidentSort.SeverityDescending];

    /// <summary>
    /// Ten incidents, one per container, each from a FIM alert under a rule of its severity; several seen at the same time
    /// (three at +1 s, two at +2 s, three at +4 s), so that the order among them is the id's.
    /// </summary>
    private async Task<(IncidentScenario Scenario, List<Incident> Incidents)> TenIncidentsAsync()
    {
        var s = await StartAsync(api);
        var rules = new Dictionary<FimSeverity, FimRule>();
        foreach (var severity in Enum.GetValues<FimSeverity>())
        {
            var spec = FimRules.AppConfig(FimRules.Unique("sort"));
            spec.Severity = severity;
            spec.Paths = [new FimPath { Path = $"/srv/app/{SpecValue(severity)}.cfg" }];
            rules[severity] = await api.Admin().CreateFimRuleAsync(spec);
        }

        int[] seconds = [1, 1, 1, 2, 2, 3, 4, 4, 4, 5];
        FimSeverity[] severities = [FimSeverity.Low, FimSeverity.High, FimSeverity.High, FimSeverity.Critical, FimSeverity.Medium, FimSeverity.High, FimSeverity.Low, FimSeverity.Critical, FimSeverity.Critical, FimSeverity.Medium];
        for (var i = 0; i < seconds.Length; i++)
        {
            var rule = rules[severities[i]];
            await s.Agent.PushFimAlertsAsync(new FimAlertBatch
            {
                Alerts =
                [
                    new FimAlertReport
                    {
                        Id = $"sort-{i}", Time = T0.AddSeconds(seconds[i]), RuleId = rule.Id, RuleVersion = rule.Version, Path = rule.Paths.Single().Path, Action = FimOperation.Write,
                        Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Container = new ContainerRef { Id = $"5047{i:x2}00000000" },
                        Process = new FimProcess { Pid = 100 + i, Name = "vi", Executable = $"/opt/editor-{i}/vi" },
                    },
                ],
            }, s.AgentId);
        }

        var incidents = await s.IncidentsAsync();
        Assert.Equal(10, incidents.Count);
        Assert.Equal(3, incidents.GroupBy(i => i.LastSeen).Max(g => g.Count())); // ties to break
        return (s, incidents);
    }

    private static string SpecValue(FimSeverity severity) => severity.ToString().ToLowerInvariant();

    /// <summary>The order each sort promises, worked out here from the incidents themselves.</summary>
    private static List<string> Expected(IEnumerable<Incident> incidents, IncidentSort sort) => (sort switch
    {
        IncidentSort.LastSeenDescending => incidents.OrderByDescending(i => i.LastSeen).ThenByDescending(i => i.Id, StringComparer.Ordinal),
        IncidentSort.LastSeen => incidents.OrderBy(i => i.LastSeen).ThenBy(i => i.Id, StringComparer.Ordinal),
        IncidentSort.SeverityDescending => incidents.OrderByDescending(i => i.Severity).ThenByDescending(i => i.LastSeen).ThenByDescending(i => i.Id, StringComparer.Ordinal),
        _ => throw new ArgumentOutOfRangeException(nameof(sort)),
    }).Select(i => i.Id).ToList();

    /// <summary>Every page of a sort (null: the default), <paramref name="limit"/> at a time, following nextCursor.</summary>
    private Task<List<Incident>> AllPagesAsync(IncidentSort? sort, int limit, string agentId,
        IEnumerable<IncidentStatus>? status = null, IEnumerable<IncidentSeverity>? severity = null, DateTimeOffset? since = null, DateTimeOffset? until = null, string? hostname = null) =>
        AllPages.ReadAsync<Incident>(limit, async cursor => await api.Admin().ListIncidentsAsync(limit, cursor, status, null, severity, agentId, hostname, null, since, until, null, sort));

    [SkippableFact]
    public async Task Each_sort_pages_in_its_order_without_repeats_or_gaps_where_incidents_were_seen_at_the_same_time()
    {
        var (s, incidents) = await TenIncidentsAsync();

        foreach (var sort in PeopleSorts)
        {
            var expected = Expected(incidents, sort);
            foreach (var limit in new[] { 1, 2, 3, 200 })
            {
                var items = await AllPagesAsync(sort, limit, s.AgentId);
                Assert.True(expected.SequenceEqual(items.Select(i => i.Id)), $"sort {sort}, limit {limit}: {string.Join(", ", items.Select(i => $"{i.Id} {i.Severity} {i.LastSeen:O}"))}");
            }
        }

        // -severity: critical first, low last.
        var bySeverity = await AllPagesAsync(IncidentSort.SeverityDescending, 4, s.AgentId);
        Assert.Equal([IncidentSeverity.Critical, IncidentSeverity.Critical, IncidentSeverity.Critical], bySeverity.Take(3).Select(i => i.Severity));
        Assert.Equal(IncidentSeverity.Low, bySeverity[^1].Severity);
    }

    [SkippableFact]
    public async Task Without_sort_the_list_stays_in_change_order_for_pollers()
    {
        var (s, incidents) = await TenIncidentsAsync();
        // The newest incident changes: in the change order it moves to the end, in -lastSeen it stays first.
        var oldest = Expected(incidents, IncidentSort.LastSeen)[0];
        await api.Admin().AddIncidentNoteAsync(new IncidentNoteSpec { Text = "looked at" }, oldest);

        var unsorted = (await AllPagesAsync(null, 3, s.AgentId)).Select(i => i.Id).ToList();
        var changed = (await AllPagesAsync(IncidentSort.Changed, 3, s.AgentId)).Select(i => i.Id).ToList();
        Assert.Equal(changed, unsorted);
        Assert.Equal(oldest, unsorted[^1]);
        Assert.Equal(10, unsorted.Distinct().Count());
    }

    [SkippableFact]
    public async Task Filters_combine_with_every_sort()
    {
        var (s, incidents) = await TenIncidentsAsync();
        var admin = api.Admin();
        var acknowledged = new[] { incidents[0].Id, incidents[3].Id, incidents[7].Id };
        foreach (var id in acknowledged)
            await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, id);
        var current = await AllPagesAsync(null, 200, s.AgentId);
        var hostname = current[0].Resource.Hostname;

        foreach (var sort in PeopleSorts)
        {
            var open = await AllPagesAsync(sort, 2, s.AgentId, status: [IncidentStatus.Open]);
            Assert.Equal(Expected(current.Where(i => i.Status == IncidentStatus.Open), sort), open.Select(i => i.Id).ToList());
            Assert.Equal(7, open.Count);

            var severe = await AllPagesAsync(sort, 2, s.AgentId, severity: [IncidentSeverity.Critical, IncidentSeverity.High]);
            Assert.Equal(Expected(current.Where(i => i.Severity is IncidentSeverity.Critical or IncidentSeverity.High), sort), severe.Select(i => i.Id).ToList());

            var window = await AllPagesAsync(sort, 2, s.AgentId, since: T0.AddSeconds(2), until: T0.AddSeconds(5), hostname: hostname);
            Assert.Equal(Expected(current.Where(i => i.LastSeen >= T0.AddSeconds(2) && i.LastSeen < T0.AddSeconds(5)), sort), window.Select(i => i.Id).ToList());
            Assert.Equal(6, window.Count);
        }
    }

    [SkippableFact]
    public async Task The_resume_cursor_of_a_sorted_page_is_in_change_order_and_lists_what_changed_after_it()
    {
        var (s, _) = await TenIncidentsAsync();
        var admin = api.Admin();
        var first = await admin.ListIncidentsAsync(limit: 3, agentId: s.AgentId, sort: IncidentSort.LastSeenDescending);
        Assert.Empty((await admin.ListIncidentsAsync(agentId: s.AgentId, cursor: first.ResumeCursor)).Items);

        var target = first.Items[1];
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, target.Id);
        var since = await admin.ListIncidentsAsync(agentId: s.AgentId, cursor: first.ResumeCursor, sort: IncidentSort.Changed);
        var changed = Assert.Single(since.Items);
        Assert.Equal((target.Id, IncidentStatus.Acknowledged), (changed.Id, changed.Status));
    }

    [SkippableFact]
    public async Task A_cursor_of_one_sort_is_refused_by_another_sort_and_by_another_list()
    {
        var (s, _) = await TenIncidentsAsync();
        var admin = api.Admin();
        var cursors = new Dictionary<IncidentSort, string>();
        foreach (var sort in PeopleSorts.Append(IncidentSort.Changed))
            cursors[sort] = (await admin.ListIncidentsAsync(limit: 2, agentId: s.AgentId, sort: sort)).NextCursor!;
        var resume = (await admin.ListIncidentsAsync(limit: 2, agentId: s.AgentId, sort: IncidentSort.LastSeenDescending)).ResumeCursor;

        using var http = api.Http(api.AdminSecret);
        foreach (var (issuedFor, cursor) in cursors)
        {
            foreach (var sort in cursors.Keys)
            {
                using var response = await http.GetAsync($"/api/v1/incidents?agentId={s.AgentId}&sort={Value(sort)}&cursor={cursor}");
                if (sort == issuedFor)
                    Assert.Equal(200, (int)response.StatusCode);
                else
                    await AssertInvalidCursor(response);
            }

            using var agents = await http.GetAsync($"/api/v1/agents?cursor={cursor}");
            await AssertInvalidCursor(agents);
        }

        // resumeCursor is a change-order cursor, whatever the sort it came with.
        foreach (var sort in PeopleSorts)
            await AssertInvalidCursor(await http.GetAsync($"/api/v1/incidents?sort={Value(sort)}&cursor={resume}"));
        Assert.Equal(200, (int)(await http.GetAsync($"/api/v1/incidents?cursor={resume}")).StatusCode);

        // Tampered: one character changed, or cut short.
        var good = cursors[IncidentSort.SeverityDescending];
        var flipped = good[..6] + (good[6] == 'A' ? 'B' : 'A') + good[7..];
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/incidents?sort=-severity&cursor={flipped}"));
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/incidents?sort=-severity&cursor={good[..^3]}"));
    }

    [SkippableTheory]
    [InlineData("sort=newest", "sort")]
    [InlineData("sort=lastseen", "sort")]
    [InlineData("sort=severity", "sort")]
    [InlineData("sort=", null)]
    [InlineData("limit=0&sort=-lastSeen", "limit")]
    [InlineData("limit=201&sort=-severity", "limit")]
    public async Task A_bad_sort_or_limit_is_a_400_problem_naming_it(string query, string? parameter)
    {
        using var http = api.Http(api.AdminSecret);
        using var response = await http.GetAsync("/api/v1/incidents?" + query);
        if (parameter is null)
        {
            // An empty value is no value: the default order.
            Assert.Equal(200, (int)response.StatusCode);
            return;
        }

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Contains(parameter, problem.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Counts_match_the_list_under_filters_and_follow_a_status_change()
    {
        var (s, incidents) = await TenIncidentsAsync();
        var admin = api.Admin();
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, incidents[0].Id);
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = IncidentResolution.Benign, Reason = "test" }, incidents[1].Id);
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Archived }, incidents[2].Id);

        async Task AssertCountsMatchTheList(IEnumerable<IncidentSeverity>? severity = null, DateTimeOffset? since = null)
        {
            var counts = await admin.CountIncidentsAsync(severity: severity, agentId: s.AgentId, since: since);
            var listed = await AllPagesAsync(null, 200, s.AgentId, severity: severity, since: since);
            Assert.Equal(listed.Count(i => i.Status == IncidentStatus.Open), counts.Open);
            Assert.Equal(listed.Count(i => i.Status == IncidentStatus.Acknowledged), counts.Acknowledged);
            Assert.Equal(listed.Count(i => i.Status == IncidentStatus.Resolved), counts.Resolved);
            Assert.Equal(listed.Count(i => i.Status == IncidentStatus.Archived), counts.Archived);
            Assert.Equal(listed.Count, counts.Total);
        }

        var all = await admin.CountIncidentsAsync(agentId: s.AgentId);
        Assert.Equal((7, 1, 1, 1, 10), (all.Open, all.Acknowledged, all.Resolved, all.Archived, all.Total));
        await AssertCountsMatchTheList();
        await AssertCountsMatchTheList(severity: [IncidentSeverity.Critical]);
        await AssertCountsMatchTheList(since: T0.AddSeconds(2));
        await AssertCountsMatchTheList(severity: [IncidentSeverity.High, IncidentSeverity.Low], since: T0.AddSeconds(1));

        var open = (await AllPagesAsync(null, 200, s.AgentId, status: [IncidentStatus.Open]))[0];
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, open.Id);
        var after = await admin.CountIncidentsAsync(agentId: s.AgentId);
        Assert.Equal((6, 2, 1, 1, 10), (after.Open, after.Acknowledged, after.Resolved, after.Archived, after.Total));

        // Another agent's incidents are not counted under this one's filter; an unknown agent counts nothing.
        var none = await admin.CountIncidentsAsync(agentId: "agt_" + new string('0', 32));
        Assert.Equal(0, none.Total);
        var problem = await ProblemAssert.FieldErrors(() => admin.CountIncidentsAsync(since: T0.AddSeconds(2), until: T0));
        Assert.Contains("since", problem.Keys);
    }

    [SkippableTheory]
    [InlineData(Role.Admin, 200)]
    [InlineData(Role.Operator, 200)]
    [InlineData(Role.Responder, 200)]
    [InlineData(Role.Analyst, 200)]
    [InlineData(Role.Agent, 403)]
    public async Task Incident_counts_are_read_by_the_roles_that_read_incidents(Role role, int status)
    {
        string secret;
        if (role == Role.Agent)
        {
            var (_, enrolled) = await api.EnrolledAgent("counts-" + Guid.NewGuid().ToString("N")[..8]);
            secret = enrolled.Secret;
        }
        else
        {
            secret = (await api.ClientWithRole(role)).Token.Secret;
        }

        using var http = api.Http(secret);
        using var counts = await http.GetAsync("/api/v1/incidents/counts");
        using var list = await http.GetAsync("/api/v1/incidents?limit=1");
        Assert.Equal(status, (int)counts.StatusCode);
        Assert.Equal((int)list.StatusCode, (int)counts.StatusCode); // the same access as listIncidents
        if (status == 403)
            Assert.Contains("countIncidents", (await ProblemAssert.IsProblem(counts, 403)).ToString(), StringComparison.Ordinal);
        else
            Assert.True(JsonDocument.Parse(await counts.Content.ReadAsStringAsync()).RootElement.GetProperty("total").GetInt32() >= 0);
        using var anonymous = await api.Http().GetAsync("/api/v1/incidents/counts");
        await ProblemAssert.IsProblem(anonymous, 401);
    }

    private static string Value(IncidentSort sort) => sort switch
    {
        IncidentSort.Changed => "changed",
        IncidentSort.LastSeenDescending => "-lastSeen",
        IncidentSort.LastSeen => "lastSeen",
        IncidentSort.SeverityDescending => "-severity",
        _ => throw new ArgumentOutOfRangeException(nameof(sort)),
    };
}

public sealed class IncidentSortTestsOnSqlite(SqliteApi api) : IncidentSortTests(api), IClassFixture<SqliteApi>;

public sealed class IncidentSortTestsOnPostgres(PostgresApi api) : IncidentSortTests(api), IClassFixture<PostgresApi>;

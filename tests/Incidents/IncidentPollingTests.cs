using System.Collections.Concurrent;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>A SOAR tool polling with its cursor while incidents are created and changed: nothing missed, nothing twice.</summary>
public abstract class IncidentPollingTests(PlatformApi api)
{
    [SkippableFact]
    public async Task A_poller_that_keeps_its_cursor_sees_every_change_once_while_incidents_are_created_and_changed()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("app-config")));
        var s = await StartAsync(api);
        var admin = api.Admin();
        var created = new ConcurrentBag<string>();
        var operations = 0;

        async Task CreateAsync(int writer)
        {
            for (var i = 0; i < 12; i++)
            {
                // A write in a container of its own: a new incident each.
                var container = new ContainerRef { Id = $"c{writer:x2}{i:x2}0000000000" };
                var report = new FimAlertReport
                {
                    Id = $"w{writer}-{i}", Time = T0.AddSeconds(i), RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = FimOperation.Write,
                    Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Container = container,
                    Process = new FimProcess { Pid = 100 + i, Name = "vi", Executable = $"/opt/editor-{writer}-{i}/vi" }, // one alert each (alerts fold by process)
                };
                await s.Agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [report] }, s.AgentId);
                created.Add(container.Id);
                Interlocked.Increment(ref operations);
            }
        }

        async Task ChangeAsync(int writer)
        {
            var random = new Random(writer);
            for (var i = 0; i < 15; i++)
            {
                var page = await admin.ListIncidentsAsync(limit: 50, agentId: s.AgentId);
                if (page.Items.Count == 0)
                    continue;
                var target = page.Items[random.Next(page.Items.Count)];
                if (i % 3 == 0)
                    await admin.AddIncidentNoteAsync(new IncidentNoteSpec { Text = $"note {writer}-{i}" }, target.Id);
                else if (target.Status == IncidentStatus.Open)
                    await TryAsync(() => admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, target.Id));
                else
                    await TryAsync(() => admin.AssignIncidentAsync(new IncidentAssignment { Assignee = $"analyst-{writer}-{i}" }, target.Id));
                Interlocked.Increment(ref operations);
            }
        }

        var seen = new List<(string Id, int Version)>();
        var cursor = (string?)null;
        async Task<int> PollAsync()
        {
            // Small pages, so that a poll spans several of them while changes go on.
            var page = await admin.ListIncidentsAsync(limit: 3, cursor: cursor, agentId: s.AgentId);
            seen.AddRange(page.Items.Select(i => (i.Id, i.Version)));
            cursor = page.ResumeCursor;
            return page.Items.Count;
        }

        var writers = Task.WhenAll(Enumerable.Range(0, 3).Select(CreateAsync).Concat(Enumerable.Range(0, 2).Select(ChangeAsync)));
        while (!writers.IsCompleted)
        {
            // Let a few changes pile up, then catch up with them page by page, as a poller on a timer does.
            var target = Volatile.Read(ref operations) + 5;
            while (!writers.IsCompleted && Volatile.Read(ref operations) < target)
                await Task.Delay(1);
            while (await PollAsync() == 3)
            {
            }
        }

        await writers;
        while (await PollAsync() > 0)
        {
        }

        Assert.Equal(seen.Count, seen.Distinct().Count()); // no change came twice
        var final = new List<Incident>();
        string? next = null;
        do
        {
            var page = await admin.ListIncidentsAsync(limit: 200, cursor: next, agentId: s.AgentId);
            final.AddRange(page.Items);
            next = page.NextCursor;
        }
        while (next is not null);
        Assert.Equal(36, final.Count);
        Assert.All(final, incident => Assert.Contains((incident.Id, incident.Version), seen)); // and none was missed
        // Versions of one incident came in order.
        foreach (var group in seen.GroupBy(p => p.Id))
            Assert.Equal(group.Select(p => p.Version).Order(), group.Select(p => p.Version));
    }

    [SkippableFact]
    public async Task A_first_poll_by_time_then_the_cursor_returns_what_changed_after()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        var admin = api.Admin();
        var first = Assert.Single((await admin.ListIncidentsAsync(agentId: s.AgentId, updatedAfter: api.Time.GetUtcNow().AddMinutes(-1))).Items);
        var empty = await admin.ListIncidentsAsync(agentId: s.AgentId, updatedAfter: api.Time.GetUtcNow().AddMinutes(1));
        Assert.Empty(empty.Items);

        var page = await admin.ListIncidentsAsync(agentId: s.AgentId);
        Assert.Null(page.NextCursor);
        Assert.Empty((await admin.ListIncidentsAsync(agentId: s.AgentId, cursor: page.ResumeCursor)).Items);
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, first.Id);
        var changed = Assert.Single((await admin.ListIncidentsAsync(agentId: s.AgentId, cursor: page.ResumeCursor)).Items);
        Assert.Equal((first.Id, IncidentStatus.Acknowledged), (changed.Id, changed.Status));
    }

    private static async Task TryAsync(Func<Task> change)
    {
        try
        {
            await change();
        }
        catch (PlatformApiException<ProblemDetails> e) when (e.StatusCode is 409)
        {
            // Another writer got there first.
        }
    }
}

public sealed class IncidentPollingTestsOnSqlite(SqliteApi api) : IncidentPollingTests(api), IClassFixture<SqliteApi>;

public sealed class IncidentPollingTestsOnPostgres(PostgresApi api) : IncidentPollingTests(api), IClassFixture<PostgresApi>;

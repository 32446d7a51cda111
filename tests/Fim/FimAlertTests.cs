using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

public abstract class FimAlertTests(PlatformApi api)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    private async Task<(PlatformClient Agent, AgentEnrolled Enrolled, FimRule Rule)> Scenario(string hostname = "web-01")
    {
        // The application's configuration, and whatever else these tests alert on (the api takes alerts only on paths
        // and actions of the agent's rules).
        var spec = FimRules.AppConfig(FimRules.Unique("app-config"));
        spec.Paths = [.. spec.Paths, new FimPath { Path = "/", Recursive = true }];
        spec.Operations = [.. spec.Operations, FimOperation.Delete];
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent(hostname, new Dictionary<string, string> { ["role"] = "app" });
        return (agent, enrolled, rule);
    }

    private static FimAlertReport Report(FimRule rule, string id, FimOperation action, string process, int pid, DateTimeOffset time, string path = "/srv/app/application.cfg") => new()
    {
        Id = id,
        Time = time,
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = path,
        Action = action,
        Effect = FimAlertEffect.Alerted,
        Attribution = FimAttribution.Available,
        Process = new FimProcess { Pid = pid, Name = process, Executable = "/usr/bin/" + process, CommandLine = $"{process} {path}", User = "deploy", Uid = 1001 },
    };

    private Task<FimAlertPage> AlertsOf(FimRule rule, int limit = 200) => api.Admin().ListFimAlertsAsync(limit: limit, ruleId: rule.Id);

    [SkippableFact]
    public async Task Read_and_write_become_two_alerts_that_say_what_happened()
    {
        var (agent, enrolled, rule) = await Scenario();
        var write = Report(rule, "w-1", FimOperation.Write, "vi", 4242, T0.AddSeconds(30));
        write.Before = new FimFileState { Sha256 = new string('a', 64), Size = 1204, Mode = "0640" };
        write.After = new FimFileState { Sha256 = new string('b', 64), Size = 1236, Mode = "0640" };

        var result = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "r-1", FimOperation.Read, "cat", 4240, T0), write] }, enrolled.Agent.Id);

        Assert.Equal((2, 2, 0, 0), (result.Received, result.Stored, result.Folded, result.Duplicates));
        var alerts = (await AlertsOf(rule)).Items;
        Assert.Equal(
            ["application.cfg read by cat (pid 4240, user deploy) on web-01", "application.cfg written by vi (pid 4242, user deploy) on web-01"],
            alerts.Select(a => a.Description));
        var written = alerts[1];
        Assert.Equal((enrolled.Agent.Id, "web-01", rule.Name, FimSeverity.High, 1L), (written.AgentId, written.Hostname, written.RuleName, written.Severity, written.Count));
        Assert.Equal(new string('b', 64), written.After!.Sha256);
        Assert.Equal(1204, written.Before!.Size);
        Assert.Equal("/usr/bin/vi", written.Process!.Executable);
    }

    [SkippableFact]
    public async Task Ingested_times_are_stored_as_every_other_timestamp_is()
    {
        // Ingest binds values itself on SQLite: its timestamps must be the text Dapper writes, or time filters
        // and ordering would compare two formats.
        var (agent, enrolled, rule) = await Scenario();
        var at = T0.AddMinutes(7).AddTicks(1234560); // PostgreSQL keeps microseconds
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "t-1", FimOperation.Write, "vi", 1, at.ToOffset(TimeSpan.FromHours(2)))] }, enrolled.Agent.Id);

        await using var db = await api.Services.GetRequiredService<Database>().OpenAsync(CancellationToken.None);
        Assert.Equal(1, await db.ExecuteScalarAsync<int>(
            "select count(*) from fim_alert where rule_id = @ruleId and first_seen = @at and last_seen = @at", new { ruleId = rule.Id, at }));
        var alert = Assert.Single((await AlertsOf(rule)).Items);
        Assert.Equal((at, at, TimeSpan.Zero), (alert.FirstSeen, alert.LastSeen, alert.FirstSeen.Offset));
    }

    [SkippableFact]
    public async Task A_retried_batch_is_acknowledged_but_not_stored_twice()
    {
        var (agent, enrolled, rule) = await Scenario();
        var batch = new FimAlertBatch { Alerts = [Report(rule, "a-1", FimOperation.Read, "cat", 1, T0), Report(rule, "a-2", FimOperation.Write, "vi", 2, T0)] };

        await agent.PushFimAlertsAsync(batch, enrolled.Agent.Id);
        var retry = await agent.PushFimAlertsAsync(batch, enrolled.Agent.Id);

        Assert.Equal((0, 0, 2), (retry.Stored, retry.Folded, retry.Duplicates));
        Assert.All((await AlertsOf(rule)).Items, a => Assert.Equal(1, a.Count));
        Assert.Equal(2, (await AlertsOf(rule)).Items.Count);
    }

    [SkippableFact]
    public async Task An_id_repeated_within_a_batch_counts_once()
    {
        var (agent, enrolled, rule) = await Scenario();
        var alert = Report(rule, "same-id", FimOperation.Read, "cat", 1, T0);

        var result = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [alert, alert, Report(rule, "other-id", FimOperation.Write, "vi", 2, T0)] }, enrolled.Agent.Id);

        Assert.Equal((3, 2, 0, 1), (result.Received, result.Stored, result.Folded, result.Duplicates));
        Assert.All((await AlertsOf(rule)).Items, a => Assert.Equal(1, a.Count));
    }

    [SkippableFact]
    public async Task A_burst_of_1000_identical_alerts_folds_into_one_with_count_1000()
    {
        var (agent, enrolled, rule) = await Scenario();
        var reports = Enumerable.Range(0, 1000).Select(i => Report(rule, $"burst-{i}", FimOperation.Read, "cat", 4240, T0.AddMilliseconds(i * 100))).ToList();

        var first = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = reports[..500] }, enrolled.Agent.Id);
        var second = await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = reports[500..] }, enrolled.Agent.Id);

        Assert.Equal((1, 499), (first.Stored, first.Folded));
        Assert.Equal((0, 500), (second.Stored, second.Folded));
        var alert = Assert.Single((await AlertsOf(rule)).Items);
        Assert.Equal(1000, alert.Count);
        Assert.Equal(T0, alert.FirstSeen);
        Assert.Equal(T0.AddMilliseconds(999 * 100), alert.LastSeen);
    }

    [SkippableFact]
    public async Task Alerts_outside_the_fold_window_or_from_another_process_are_not_folded()
    {
        var (agent, enrolled, rule) = await Scenario();

        await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                Report(rule, "f-1", FimOperation.Read, "cat", 1, T0),
                Report(rule, "f-2", FimOperation.Read, "cat", 2, T0.AddMinutes(1)),
                Report(rule, "f-3", FimOperation.Read, "less", 3, T0.AddMinutes(2)),
                Report(rule, "f-4", FimOperation.Read, "cat", 4, T0.AddMinutes(6)),
            ],
        }, enrolled.Agent.Id);

        var alerts = (await AlertsOf(rule)).Items;
        Assert.Equal([2L, 1L, 1L], alerts.Select(a => a.Count));
        Assert.Equal(["cat", "less", "cat"], alerts.Select(a => a.Process!.Name));
    }

    [SkippableFact]
    public async Task Unknown_process_and_prevented_writes_are_described_honestly()
    {
        var (agent, enrolled, rule) = await Scenario("db-01");
        var unknown = Report(rule, "u-1", FimOperation.Write, "x", 1, T0);
        unknown.Attribution = FimAttribution.Unavailable;
        unknown.Process = null;
        unknown.AttributionReason = "inotify does not report the writer";
        var prevented = Report(rule, "p-1", FimOperation.Write, "vi", 7, T0, "/etc/ssl/private/server.key");
        prevented.Effect = FimAlertEffect.Prevented;
        prevented.Container = new ContainerRef { Id = "c0ffee", Name = "struts", Image = "struts2:2.3" };

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [unknown, prevented] }, enrolled.Agent.Id);

        var alerts = (await AlertsOf(rule)).Items.ToDictionary(a => a.Path);
        Assert.Equal("application.cfg written on db-01; process unknown: inotify does not report the writer", alerts["/srv/app/application.cfg"].Description);
        Assert.Equal(FimAttribution.Unavailable, alerts["/srv/app/application.cfg"].Attribution);
        Assert.Equal("write to server.key prevented by vi (pid 7, user deploy) on db-01 in container struts (struts2:2.3)", alerts["/etc/ssl/private/server.key"].Description);
    }

    [SkippableFact]
    public async Task Attribution_must_be_explicit()
    {
        var (agent, enrolled, rule) = await Scenario();
        var missing = Report(rule, "m-1", FimOperation.Write, "vi", 1, T0);
        missing.Process = null;
        var noReason = Report(rule, "m-2", FimOperation.Write, "vi", 1, T0);
        noReason.Attribution = FimAttribution.Unavailable;
        noReason.Process = null;

        var errors = await ProblemAssert.FieldErrors(() => agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [missing, noReason] }, enrolled.Agent.Id));

        Assert.Contains("alerts[0].process", errors.Keys);
        Assert.Contains("alerts[1].attributionReason", errors.Keys);
        Assert.Empty((await AlertsOf(rule)).Items);
    }

    [SkippableFact]
    public async Task Agent_A_cannot_push_alerts_as_agent_B()
    {
        var (agentA, _, rule) = await Scenario();
        var (_, b) = await api.EnrolledAgent("web-02");

        await ProblemAssert.Refused(403, () => agentA.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "x-1", FimOperation.Read, "cat", 1, T0)] }, b.Agent.Id));
        await ProblemAssert.Refused(403, () => api.Admin().PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "x-2", FimOperation.Read, "cat", 1, T0)] }, b.Agent.Id));
        Assert.Empty((await AlertsOf(rule)).Items);
    }

    [SkippableFact]
    public async Task Batches_are_limited_to_500()
    {
        var (agent, enrolled, rule) = await Scenario();
        var reports = Enumerable.Range(0, 501).Select(i => Report(rule, $"big-{i}", FimOperation.Read, "cat", 1, T0)).ToList();

        var errors = await ProblemAssert.FieldErrors(() => agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = reports }, enrolled.Agent.Id));

        Assert.Contains("500", errors["alerts"].Single());
    }

    [SkippableFact]
    public async Task Alerts_are_filtered_and_paged()
    {
        var (agent, enrolled, rule) = await Scenario("filter-01");
        await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                Report(rule, "q-1", FimOperation.Read, "cat", 1, T0, "/srv/app/application.cfg"),
                Report(rule, "q-2", FimOperation.Write, "vi", 2, T0.AddMinutes(10), "/srv/app/conf.d/db.cfg"),
                Report(rule, "q-3", FimOperation.Write, "vi", 3, T0.AddMinutes(20), "/srv/app/conf.d/cache.yaml"),
                Report(rule, "q-4", FimOperation.Delete, "rm", 4, T0.AddMinutes(30), "/etc/app.cfg"),
            ],
        }, enrolled.Agent.Id);
        var admin = api.Admin();

        Assert.Equal(4, (await admin.ListFimAlertsAsync(hostname: "FILTER-01")).Items.Count);
        Assert.Equal(4, (await admin.ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Count);
        Assert.Equal(3, (await admin.ListFimAlertsAsync(ruleId: rule.Id, pathPrefix: "/srv/app/")).Items.Count);
        Assert.Equal(["/srv/app/application.cfg", "/srv/app/conf.d/db.cfg"], (await admin.ListFimAlertsAsync(ruleId: rule.Id, pathGlob: "/srv/**/*.cfg")).Items.Select(a => a.Path));
        Assert.Equal(["/srv/app/conf.d/db.cfg"], (await admin.ListFimAlertsAsync(ruleId: rule.Id, pathGlob: "/srv/app/*/*.cfg")).Items.Select(a => a.Path));
        Assert.Equal(2, (await admin.ListFimAlertsAsync(ruleId: rule.Id, action: FimOperation.Write)).Items.Count);
        Assert.Equal(4, (await admin.ListFimAlertsAsync(ruleId: rule.Id, effect: FimAlertEffect.Alerted, severity: FimSeverity.High)).Items.Count);
        Assert.Empty((await admin.ListFimAlertsAsync(ruleId: rule.Id, severity: FimSeverity.Low)).Items);
        Assert.Equal(2, (await admin.ListFimAlertsAsync(ruleId: rule.Id, since: T0.AddMinutes(5), until: T0.AddMinutes(25))).Items.Count);

        var first = await admin.ListFimAlertsAsync(limit: 3, ruleId: rule.Id);
        var second = await admin.ListFimAlertsAsync(limit: 3, cursor: first.NextCursor, ruleId: rule.Id);
        Assert.Equal(3, first.Items.Count);
        Assert.Single(second.Items);
        Assert.Null(second.NextCursor);
        Assert.Equal(4, first.Items.Concat(second.Items).Select(a => a.Id).Distinct().Count());
        await ProblemAssert.Refused(400, () => admin.ListFimAlertsAsync(pathGlob: "/srv/[oops"));
    }

    [SkippableFact]
    public async Task Export_streams_every_matching_alert_as_jsonl_and_csv()
    {
        var (agent, enrolled, rule) = await Scenario("export-01");
        var formula = Report(rule, "e-1", FimOperation.Write, "=cmd", 1, T0, "/srv/app/a,b.cfg");
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [formula, Report(rule, "e-2", FimOperation.Read, "cat", 2, T0)] }, enrolled.Agent.Id);
        var http = api.Http(api.AdminSecret);

        var jsonl = await http.GetAsync($"/api/v1/fim/alerts/export?ruleId={rule.Id}");
        var lines = (await jsonl.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("application/x-ndjson", jsonl.Content.Headers.ContentType?.MediaType);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.Equal(rule.Id, JsonDocument.Parse(line).RootElement.GetProperty("ruleId").GetString()));

        var csv = await http.GetAsync($"/api/v1/fim/alerts/export?format=csv&ruleId={rule.Id}");
        var rows = (await csv.Content.ReadAsStringAsync()).Split("\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("id,firstSeen,lastSeen,count", rows[0]);
        Assert.Equal(3, rows.Length);
        Assert.Contains("\"/srv/app/a,b.cfg\"", rows[1]);
        Assert.Contains(",'=cmd,", rows[1]);
    }
}

public sealed class FimAlertTestsOnSqlite(SqliteApi api) : FimAlertTests(api), IClassFixture<SqliteApi>;

public sealed class FimAlertTestsOnPostgres(PostgresApi api) : FimAlertTests(api), IClassFixture<PostgresApi>;

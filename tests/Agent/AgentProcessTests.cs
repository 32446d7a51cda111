using System.Diagnostics;
using System.Text.Json;
using Platform.Agent.Delivery;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>The api on real Kestrel (a port of its own), for an agent running as a process.</summary>
public sealed class KestrelApiForAgents : SqliteApi
{
    public KestrelApiForAgents() => UseKestrel(0);
}

/// <summary>The real agent, as a process of its own, against the real api.</summary>
public sealed class AgentProcessTests(KestrelApiForAgents api) : IClassFixture<KestrelApiForAgents>, IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("agent-process-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private readonly PlatformApi _api = api.WithMachineClock();

    public void Dispose()
    {
        Directory.Delete(_state, recursive: true);
        api.AssertServedToTheSpec(); // the agent process's exchanges, simulate's included
    }

    /// <summary>
    /// 2,000 events wait in the spool (200 batches of 10); the agent is killed (SIGKILL) 20 times while it delivers them, each time
    /// just after the api acknowledged a batch (so, often, with the next one on the wire), and started again.
    /// Every event is stored exactly once: a batch cut off mid-send goes again with the same id and sequence and
    /// the api takes a replay as the duplicate it is.
    /// </summary>
    [Fact]
    public async Task Killed_twenty_times_mid_delivery_the_agent_loses_nothing_and_stores_nothing_twice()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "sigkill" });
        var produced = new List<string>();
        using (var spool = new Spool(Path.Combine(_state, "spool"), 256L << 20))
        {
            var start = DateTimeOffset.UtcNow.AddMinutes(-10);
            for (var batch = 0; batch < 200; batch++)
            {
                var events = Enumerable.Range(0, 10).Select(i => (TelemetryEvent)TelemetryEvents.Read($"k{batch}-{i}", start.AddMilliseconds(batch * 10 + i))).ToList();
                spool.Record(events);
                produced.AddRange(events.Select(e => e.Id));
            }
        }

        var cursor = Path.Combine(_state, "spool", "telemetry", "cursor.json");
        var random = new Random(20261123);
        for (var kill = 0; kill < 20; kill++)
        {
            var acknowledgedBefore = Acknowledged(cursor);
            using var agent = Start(enrollment.Secret);
            await Until(() => Acknowledged(cursor) != acknowledgedBefore || agent.HasExited, $"a batch to be acknowledged before kill {kill + 1}");
            Assert.False(agent.HasExited, "the agent stopped by itself: " + string.Join("\n", _output));
            await Task.Delay(random.Next(0, 10)); // somewhere in the next batch's send
            agent.Kill(); // SIGKILL: no shutdown, no flush
            await agent.WaitForExitAsync();
        }

        using (var last = Start(enrollment.Secret))
        {
            var agentId = JsonDocument.Parse(File.ReadAllText(Path.Combine(_state, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;
            List<string> stored = [];
            await UntilAsync(async () => (stored = await api.AllEventIds(agentId)).Count >= produced.Count, "every event to arrive");
            last.Kill();
            await last.WaitForExitAsync();

            Assert.Equal(produced.Order(), stored.Order());
            Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId)).Items);
            Assert.Single((await api.Admin().ListAgentsAsync(hostname: "sigkill-01")).Items); // enrolled once
        }
    }

    /// <summary>
    /// <c>simulate</c> replays the Struts2 container compromise and the host FIM case through the real agent's spool and
    /// delivery: the api has the process chain, the files, the connections, the container's inventory (the secret's
    /// name, flagged) and the FIM alerts the rules in force make of it, each naming the process.
    /// </summary>
    [Fact]
    public async Task The_simulated_scenarios_arrive_at_the_api_through_the_real_agent()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var config = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "sim-config-" + suffix, Severity = FimSeverity.High, Scope = new FimScope { Hostnames = ["sim-*"] },
            Paths = [new FimPath { Path = "/srv/app", Recursive = true }], Operations = [FimOperation.Read, FimOperation.Write], Effect = FimEffect.Alert,
        });
        var passwd = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "sim-passwd-" + suffix, Severity = FimSeverity.Critical, Scope = new FimScope { Hostnames = ["sim-*"] },
            Paths = [new FimPath { Path = "/etc/passwd" }], Operations = [FimOperation.Read, FimOperation.Write], Effect = FimEffect.Alert,
        });
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "simulate" });

        using (var agent = Start(enrollment.Secret, "sim-01", "simulate"))
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await agent.WaitForExitAsync(patience.Token);
            Assert.True(agent.ExitCode == 0, string.Join("\n", _output));
        }

        var agentId = JsonDocument.Parse(File.ReadAllText(Path.Combine(_state, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;
        var events = await api.Admin().AllEvents(agentId);

        // The chain java -> sh -> cp, curl, in the container.
        var started = events.OfType<ProcessStartEvent>().ToDictionary(e => e.ProcessName!);
        Assert.Equal((started["java"].Pid, "java"), (started["sh"].Ppid, started["sh"].ParentProcessName));
        Assert.Equal(started["sh"].Pid, started["cp"].Ppid);
        Assert.Equal(started["sh"].Pid, started["curl"].Ppid);
        Assert.All(new[] { "java", "sh", "cp", "curl" }, name => Assert.Equal("7f9c2ba4e88f", started[name].Container!.Id));
        Assert.Contains(events.OfType<FileAccessEvent>(), e => (e.ProcessName, e.Path, e.Operation) == ("cp", "/etc/passwd", FimOperation.Read));
        var connections = events.OfType<NetworkConnectEvent>().Select(e => (e.ProcessName, e.RemoteAddress, e.RemotePort)).ToList();
        Assert.Contains(("java", "10.0.3.20", 3306), connections);
        Assert.Contains(("java", "10.0.3.21", 8200), connections);
        Assert.Contains(("curl", "203.0.113.9", 80), connections);
        Assert.Contains(events.OfType<ProcessStartEvent>(), e => (e.ProcessName, e.Args![0], e.Args[^1]) == ("vi", "vi", "/srv/app/application.cfg"));

        var inventory = await api.Admin().GetInventoryAsync(agentId);
        var web = Assert.Single(inventory.Containers);
        Assert.Equal(("MYSQL_PASSWORD", true), (web.Environment![0].Name, web.Environment[0].Secret));
        Assert.Equal("CVE-2017-5638", Assert.Single(inventory.Images).Vulnerabilities![0].Cve);

        // The agent also watches these paths for real on this machine: a real read of /etc/passwd meanwhile (by any
        // process here) is a real alert, without attribution. The simulated ones name their process.
        var alerts = (await api.Admin().ListFimAlertsAsync(agentId: agentId)).Items.Where(a => a.Attribution == FimAttribution.Available).ToList();
        Assert.Equal(
            new[] { ("cat", "/srv/app/application.cfg", FimOperation.Read, config.Id), ("cp", "/etc/passwd", FimOperation.Read, passwd.Id), ("vi", "/srv/app/application.cfg", FimOperation.Read, config.Id), ("vi", "/srv/app/application.cfg", FimOperation.Write, config.Id) },
            alerts.Select(a => (a.Process!.Name, a.Path, a.Action, a.RuleId)).Order());
        Assert.Equal("7f9c2ba4e88f", alerts.Single(a => a.Path == "/etc/passwd").Container!.Id);

        await IncidentsOfTheSimulationAsync(agentId);
    }

    /// <summary>
    /// What detection makes of the simulation (issue 6's acceptance): one data exfiltration with the chain as evidence,
    /// risk context naming MYSQL_PASSWORD (no value anywhere) and mysql and vault as sensitive services, the FIM incident,
    /// and a bundle whose timeline has the attacker's steps in order.
    /// </summary>
    private async Task IncidentsOfTheSimulationAsync(string agentId)
    {
        await Incidents.IncidentScenario.DetectAsync(api);
        var admin = api.Admin();
        var exfiltration = Assert.Single((await admin.ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.DataExfiltration])).Items);
        Assert.Equal(("7f9c2ba4e88f", IncidentSeverity.Critical), (exfiltration.Resource.ContainerId, exfiltration.Severity));
        var finding = Assert.Single((await admin.ListIncidentFindingsAsync(exfiltration.Id)).Items);
        Assert.Equal(["java", "sh", "cp", "curl"], finding.Lineage.Select(p => p.Name));
        Assert.Contains(finding.Events.OfType<FileAccessEvent>(), e => e.Path == "/etc/passwd");
        Assert.Contains(finding.Events.OfType<NetworkConnectEvent>(), e => (e.RemoteAddress, e.RemotePort) == ("203.0.113.9", 80));

        var risk = await admin.GetIncidentRiskAsync(exfiltration.Id);
        Assert.Equal(["MYSQL_PASSWORD"], risk.SecretEnvironment);
        Assert.Contains(risk.Services, s => (s.Address, s.Port, s.Service, s.Sensitive) == ("10.0.3.20", 3306, "mysql", true));
        Assert.Contains(risk.Services, s => (s.Address, s.Port, s.Service, s.Sensitive) == ("10.0.3.21", 8200, "vault", true));
        Assert.Contains(risk.Reasons, r => r.Factor == RiskReasonFactor.ImageVulnerabilities && r.Detail.Contains("CVE-2017-5638", StringComparison.Ordinal));
        Assert.InRange(risk.Score, 75, 100);
        Assert.Equal(IncidentSeverity.Critical, risk.Level);

        var tamper = Assert.Single((await admin.ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.FimTamper])).Items);
        Assert.Contains("vi", tamper.Summary);

        // The bundle: incident.json and risk.json beside the flight data, and the attacker's steps in order in the timeline.
        using var http = api.Http(api.AdminSecret);
        using var response = await http.GetAsync(exfiltration.Links.Bundle);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var zip = new System.IO.Compression.ZipArchive(await response.Content.ReadAsStreamAsync());
        string Entry(string name) => new StreamReader(zip.GetEntry(name)!.Open()).ReadToEnd();
        var timeline = Entry("timeline.txt").Split('\n');
        int Step(string text) => Array.FindIndex(timeline, line => line.Contains(text, StringComparison.Ordinal));
        var steps = new[] { Step("java(4101) -> sh(4230)"), Step("sh(4230) -> cp(4231)"), Step("cp(4231) read /etc/passwd"), Step("sh(4230) -> curl(4232)"), Step("-> 203.0.113.9:80") };
        Assert.All(steps, step => Assert.True(step >= 0, "a step is missing from the timeline:\n" + string.Join('\n', timeline.Take(50))));
        Assert.Equal(steps.Order(), steps);
        Assert.Contains(exfiltration.Id, Entry("incident.json"));
        var riskJson = Entry("risk.json");
        Assert.Contains("MYSQL_PASSWORD", riskJson);
        Assert.Contains("\"vault\"", riskJson);
        Assert.Contains("risk.json", Entry("manifest.json"));
    }

    [Fact]
    public async Task Simulate_refuses_a_scenario_it_does_not_have_before_sending_anything()
    {
        using var agent = Start("ple_unused", "sim-02", "simulate", "--scenarios", "struts2,nope");
        await agent.WaitForExitAsync();
        Assert.Equal(2, agent.ExitCode);
        Assert.Contains(_output, line => line.Contains("No scenario 'nope'", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(_state, "credential.json")));
    }

    private Process Start(string enrollToken, string hostname = "sigkill-01", params string[] args)
    {
        var settings = new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = api.Http().BaseAddress!.ToString(),
            ["Platform__Agent__EnrollToken"] = enrollToken,
            ["Platform__Agent__StateDirectory"] = _state,
            ["Platform__Agent__Hostname"] = hostname,
            ["Platform__Agent__LingerMilliseconds"] = "0",
            ["Platform__Agent__TelemetryBatchEvents"] = "10",
            ["Platform__Agent__HeartbeatSeconds"] = "3600",
            ["Platform__Agent__CollectorMilliseconds"] = "0", // the node's own processes would mix with the events the test counts
            ["Platform__Agent__PolicySeconds"] = "3600",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        return StartAgentProcess(args, settings, _output);
    }

    /// <summary>Where the agent's telemetry cursor stands (what the api has acknowledged), as written on disk.</summary>
    private static string Acknowledged(string cursor)
    {
        try
        {
            var root = JsonDocument.Parse(File.ReadAllBytes(cursor)).RootElement;
            return $"{root.GetProperty("Segment").GetInt64()}:{root.GetProperty("Offset").GetInt64()}";
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return "";
        }
    }


}

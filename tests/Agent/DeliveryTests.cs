using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Platform.Agent;
using Platform.Agent.Delivery;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>The agent's delivery against the real api: enrollment, spool, resilience, acknowledgement.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DeliveryTests(SqliteApi api) : IClassFixture<SqliteApi>, IAsyncLifetime
{
    private readonly string _state = Directory.CreateTempSubdirectory("agent-test-").FullName;
    private readonly Outage _outage = new();
    private IHost? _agent;

    public Task InitializeAsync()
    {
        api.WithMachineClock();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
        {
            await _agent.StopAsync();
            _agent.Dispose();
        }

        Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public async Task Every_event_recorded_while_the_api_is_unreachable_arrives_once_when_it_is_back()
    {
        var spool = await StartAgentAsync("delivery-01");
        var produced = new List<string>();
        var start = api.Time.GetUtcNow();

        void Produce(int round)
        {
            var events = Enumerable.Range(0, 50).Select(i => (TelemetryEvent)TelemetryEvents.Read($"r{round}-{i}", start.AddMilliseconds(round * 50 + i), $"/srv/app/{i}.dat")).ToList();
            spool.Record(events);
            produced.AddRange(events.Select(e => e.Id));
        }

        for (var round = 0; round < 5; round++)
            Produce(round);
        await Until(() => spool.Telemetry.Counts.Records == 0, "the first events to be delivered");

        _outage.Down = true;
        for (var round = 5; round < 15; round++)
            Produce(round);
        await Until(() => _outage.Refused >= 3, "the agent to have tried (and failed) while the api was away");
        Assert.True(spool.Telemetry.Counts.Records > 0);
        _outage.Down = false;
        for (var round = 15; round < 20; round++)
            Produce(round);

        await Until(() => spool.Telemetry.Counts.Records == 0, "the spool to drain");
        var agentId = await AgentIdAsync();
        var stored = await api.AllEventIds(agentId);
        Assert.Equal(produced.Order(), stored.Order());
        Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId)).Items);

        // The heartbeat says so: nothing waiting, nothing lost, and what this agent cannot do.
        await _agent!.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single().BeatAsync(CancellationToken.None);
        var status = (await api.Admin().GetAgentAsync(agentId)).Status!;
        Assert.Equal((0, 0, 0, 0), (status.Spool.TelemetryRecords, status.Spool.DroppedTelemetry, status.Spool.QuarantinedRegions, status.Spool.RejectedBatches));
        var fim = _agent.Services.GetRequiredService<Platform.Agent.Fim.FimPolicyService>();
        Assert.Equal((fim.NoAttributionReason is null, fim.NoAttributionReason), (status.Capabilities.ProcessAttribution.Available, status.Capabilities.ProcessAttribution.Reason));
        // Prevention: the kernel's inode attributes where the agent may set them (CAP_LINUX_IMMUTABLE), whatever fanotify does.
        var enforcement = _agent.Services.GetRequiredService<Platform.Agent.Enforcement.IEnforcement>();
        Assert.Equal(enforcement.Mechanism, status.Capabilities.Prevention.Mechanism);
        if (Platform.Agent.Enforcement.EnforcementChoice.NoInodeAttributes() is null)
            Assert.Equal((true, Platform.Contracts.AgentPreventionMechanism.InodeAttributes), (status.Capabilities.Prevention.Available, status.Capabilities.Prevention.Mechanism));
        else if (!status.Capabilities.Prevention.Available)
            Assert.NotNull(status.Capabilities.Prevention.Reason);
    }

    [Fact]
    public async Task A_batch_the_api_refuses_is_set_aside_with_its_answer_and_delivery_goes_on()
    {
        var spool = await StartAgentAsync("delivery-refused", batchEvents: 1);
        var start = api.Time.GetUtcNow();
        var refused = TelemetryEvents.Connect("refused-01", start);
        refused.RemotePort = 70_000; // not a port: the api refuses the batch for what it is
        spool.Record([refused]);
        var fine = TelemetryEvents.Read("after-01", start.AddMilliseconds(1));
        spool.Record([fine]);

        await Until(() => spool.Telemetry.Counts.Records == 0, "both batches to be done with");
        var delivery = _agent!.Services.GetRequiredService<DeliveryService>();
        Assert.Equal(1, delivery.Rejected);
        var aside = Directory.GetFiles(Path.Combine(_state, "spool", "rejected"));
        var kept = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Assert.Single(aside))).RootElement;
        Assert.Equal(400, kept.GetProperty("status").GetInt32());
        Assert.Contains("remotePort", kept.GetProperty("response").GetString(), StringComparison.Ordinal);
        Assert.Equal("refused-01", Assert.Single(kept.GetProperty("records").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(["after-01"], await api.AllEventIds(await AgentIdAsync()));
    }

    [Fact]
    public async Task A_full_spool_drops_the_oldest_telemetry_counts_it_and_leaves_a_gap_but_keeps_every_fim_alert()
    {
        var rule = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "spool-full-" + Guid.NewGuid().ToString("N")[..8],
            Severity = FimSeverity.High,
            Scope = new FimScope { Hostnames = ["spool-full-*"] },
            Paths = [new FimPath { Path = "/srv/app", Recursive = true }],
            Operations = [FimOperation.Write],
            Effect = FimEffect.Alert,
        });
        var spool = await StartAgentAsync("spool-full-01", spoolMaxBytes: 64 * 1024, batchEvents: 50);
        var agentId = await AgentIdAsync();
        _outage.Down = true;

        var start = api.Time.GetUtcNow();
        var produced = new List<string>();
        for (var round = 0; round < 40; round++)
        {
            var events = Enumerable.Range(0, 50).Select(i => (TelemetryEvent)TelemetryEvents.Read($"f{round}-{i}", start.AddMilliseconds(round * 50 + i), $"/srv/app/{i}.dat")).ToList();
            spool.Record(events);
            produced.AddRange(events.Select(e => e.Id));
        }

        var droppedByTelemetry = spool.Telemetry.Counts.DroppedRecords;
        Assert.InRange(droppedByTelemetry, 1, produced.Count - 1); // the oldest went, the newest stayed

        // Alerts past the whole budget: never dropped; telemetry makes room for them.
        var alerts = Enumerable.Range(0, 300).Select(i => new FimAlertReport
        {
            Id = $"spool-full-{i}", Time = start, RuleId = rule.Id, RuleVersion = rule.Version, Path = $"/srv/app/file-{i}.cfg", Action = FimOperation.Write,
            Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Unavailable, AttributionReason = "test",
        }).ToList();
        spool.Record(alerts);
        var dropped = spool.Telemetry.Counts.DroppedRecords;
        Assert.True(dropped >= droppedByTelemetry);
        Assert.Equal(300, spool.Alerts.Counts.Records);

        // The api is back and the node goes on: the next batch carries the skipped number, and the gap shows.
        _outage.Down = false;
        await Until(() => spool.Alerts.Counts.Records == 0, "the alerts to be delivered");
        var after = Enumerable.Range(0, 50).Select(i => (TelemetryEvent)TelemetryEvents.Read($"after-{i}", start.AddSeconds(10).AddMilliseconds(i))).ToList();
        spool.Record(after);
        produced.AddRange(after.Select(e => e.Id));
        await Until(() => spool.Telemetry.Counts.Records == 0, "the spool to drain");
        Assert.Equal(dropped, spool.Telemetry.Counts.DroppedRecords); // with room again, nothing more went

        var stored = await api.AllEventIds(agentId);
        Assert.Equal(produced.Count - dropped, stored.Count);
        Assert.Equal(produced.Count - dropped, stored.Distinct().Count());
        Assert.All(stored, id => Assert.Contains(id, produced));
        var first = await api.Admin().ListFimAlertsAsync(limit: 200, agentId: agentId);
        var second = await api.Admin().ListFimAlertsAsync(limit: 200, cursor: first.NextCursor, agentId: agentId);
        Assert.Equal(300, first.Items.Concat(second.Items).Select(a => a.Path).Distinct().Count());
        // A batch number skipped where each drop was (one, or two when a batch was taken between the drops).
        var gaps = (await api.Admin().ListTelemetryGapsAsync(agentId)).Items;
        Assert.InRange(gaps.Count, 1, 2);
        Assert.All(gaps, gap => Assert.Equal(gap.FromSequence, gap.ToSequence));
        await _agent!.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single().BeatAsync(CancellationToken.None);
        Assert.Equal(dropped, (await api.Admin().GetAgentAsync(agentId)).Status!.Spool.DroppedTelemetry);
    }

    [Fact]
    public async Task A_heartbeat_held_up_by_an_outage_does_not_land_after_a_newer_one()
    {
        var spool = await StartAgentAsync("delivery-03", spoolMaxBytes: 64 * 1024, batchEvents: 50);
        var agentId = await AgentIdAsync();
        var heartbeat = _agent!.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single();

        _outage.Down = true;
        var heldUp = heartbeat.BeatAsync(CancellationToken.None); // its status (nothing dropped) is taken now; the pipeline retries it
        var start = api.Time.GetUtcNow();
        for (var round = 0; round < 20; round++)
            spool.Record(Enumerable.Range(0, 50).Select(i => (TelemetryEvent)TelemetryEvents.Read($"h{round}-{i}", start.AddMilliseconds(round * 50 + i))).ToList());
        var dropped = spool.Telemetry.Counts.DroppedRecords;
        Assert.True(dropped > 0);

        _outage.Down = false;
        await heartbeat.BeatAsync(CancellationToken.None);
        try
        {
            await heldUp;
        }
        catch (HttpRequestException)
        {
            // The pipeline gave up on it: also fine, it did not overwrite the newer status.
        }

        Assert.Equal(dropped, (await api.Admin().GetAgentAsync(agentId)).Status!.Spool.DroppedTelemetry);
    }

    [Fact]
    public async Task A_corrupted_spool_file_and_cursor_do_not_stop_the_agent()
    {
        // Recorded by an earlier run of the agent (small segments: several files), then damaged on disk.
        var produced = new List<string>();
        var start = api.Time.GetUtcNow();
        using (var earlier = new Spool(Path.Combine(_state, "spool"), 64 * 1024))
        {
            for (var round = 0; round < 8; round++)
            {
                var events = Enumerable.Range(0, 20).Select(i => (TelemetryEvent)TelemetryEvents.Read($"c{round}-{i}", start.AddMilliseconds(round * 20 + i))).ToList();
                earlier.Record(events);
                produced.AddRange(events.Select(e => e.Id));
            }
        }

        var segments = Directory.GetFiles(Path.Combine(_state, "spool", "telemetry"), "*.seg").Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count >= 2);
        using (var damaged = File.OpenWrite(segments[0]))
        {
            damaged.Position = damaged.Length / 2;
            damaged.Write("garbage, not a record"u8);
        }

        await File.WriteAllTextAsync(Path.Combine(_state, "spool", "telemetry", "cursor.json"), "{ not json");

        var spool = await StartAgentAsync("delivery-04");
        await Until(() => spool.Telemetry.Counts.Records == 0, "what is readable to be delivered");
        var agentId = await AgentIdAsync();
        var stored = await api.AllEventIds(agentId);
        Assert.InRange(stored.Count, 1, produced.Count - 1); // the damaged part is lost, the rest arrives
        Assert.All(stored, id => Assert.Contains(id, produced));
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.Contains(stored, id => id.StartsWith("c7-", StringComparison.Ordinal)); // files after the damage

        // It goes on: new events are delivered, and the heartbeat says what was set aside.
        spool.Record([TelemetryEvents.Read("after-damage", start.AddSeconds(5))]);
        await Until(() => spool.Telemetry.Counts.Records == 0, "the new event to be delivered");
        Assert.Contains("after-damage", await api.AllEventIds(agentId));
        await _agent!.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single().BeatAsync(CancellationToken.None);
        Assert.True((await api.Admin().GetAgentAsync(agentId)).Status!.Spool.QuarantinedRegions >= 1);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_state, "spool", "telemetry", "quarantine")));
    }

    [Fact]
    public async Task What_the_collectors_see_on_the_node_arrives_at_the_api()
    {
        await StartAgentAsync("collect-01", collectorMilliseconds: 50);
        var agentId = await AgentIdAsync();
        var collector = _agent!.Services.GetRequiredService<Platform.Agent.Collectors.FlightDataCollector>();
        await Until(() => collector.Scans >= 1, "the baseline scan");

        using var sleep = System.Diagnostics.Process.Start("sleep", ["30"]);
        await UntilAsync(async () => (await api.Admin().AllEvents(agentId, TelemetryEventKind.Process_start))
            .OfType<ProcessStartEvent>().Any(e => e.Pid == sleep.Id && e.Args!.SequenceEqual(["sleep", "30"])), "the start of sleep at the api");
        sleep.Kill();
        await sleep.WaitForExitAsync();
        ProcessExitEvent? exit = null;
        await UntilAsync(async () => (exit = (await api.Admin().AllEvents(agentId, TelemetryEventKind.Process_exit)).OfType<ProcessExitEvent>().FirstOrDefault(e => e.Pid == sleep.Id)) is not null,
            "its exit at the api");
        if (collector.Mode == AgentProcessEvents.Netlink)
            Assert.Equal(137, exit!.ExitCode); // from the kernel: killed by SIGKILL

        // The heartbeat says how processes are seen: from the kernel when the agent may listen to it, else by scanning.
        await _agent.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single().BeatAsync(CancellationToken.None);
        Assert.NotEqual(AgentProcessEvents.None, collector.Mode);
        Assert.Equal(collector.Mode, (await api.Admin().GetAgentAsync(agentId)).Status!.Capabilities.ProcessEvents);
    }

    [Fact]
    public async Task Protected_files_are_compared_with_their_baseline_at_each_start_and_the_pci_report_shows_it()
    {
        var protectedFiles = Directory.CreateDirectory(Path.Combine(_state, "protected")).FullName;
        var config = Path.Combine(protectedFiles, "app.cfg");
        await File.WriteAllTextAsync(config, "db.host=10.0.3.20\n");
        var rule = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "baseline-" + Guid.NewGuid().ToString("N")[..8],
            Severity = FimSeverity.High,
            Scope = new FimScope { Hostnames = ["baseline-*"] },
            ComplianceTags = ["pci-dss:11.5"],
            Paths = [new FimPath { Path = protectedFiles, Recursive = true }],
            Operations = [FimOperation.Write, FimOperation.Delete, FimOperation.Metadata],
            Effect = FimEffect.Alert,
        });
        await StartAgentAsync("baseline-01", baselineHours: 168);
        var agentId = await AgentIdAsync();
        await UntilAsync(async () => Baselines(await api.Admin().GetPciReportAsync(agentId)).Any(b => b.Path == protectedFiles && b.Result == FimBaselineResult.Match && b.State == PciState.Pass),
            "the first comparison in the PCI report");

        // Changed while the agent is down: found at its next start.
        await _agent!.StopAsync();
        _agent.Dispose();
        await File.WriteAllTextAsync(config, "db.host=203.0.113.9\n");
        await StartAgentAsync("baseline-01", enrollToken: "ple_not-used-again", baselineHours: 168);
        IReadOnlyList<FimAlert> alerts = [];
        await UntilAsync(async () => (alerts = (await api.Admin().ListFimAlertsAsync(agentId: agentId, ruleId: rule.Id)).Items).Count > 0, "the change to be alerted");
        var alert = Assert.Single(alerts);
        Assert.Equal((config, FimOperation.Write, FimAttribution.Unavailable), (alert.Path, alert.Action, alert.Attribution));
        Assert.StartsWith(Platform.Agent.Fim.FimBaseline.FoundByComparison + " taken ", alert.AttributionReason, StringComparison.Ordinal);
        Assert.EndsWith("the change may have been made while it was not running", alert.AttributionReason, StringComparison.Ordinal);
        Assert.NotEqual(alert.Before!.Sha256, alert.After!.Sha256);
        await UntilAsync(async () => Baselines(await api.Admin().GetPciReportAsync(agentId)).Any(b => b.Path == protectedFiles && b.Result == FimBaselineResult.Changed),
            "the comparison in the PCI report");
    }

    [Fact]
    public async Task The_pci_report_takes_a_log_path_as_watched_only_once_the_agent_finds_it_on_the_node()
    {
        var logs = Directory.CreateTempSubdirectory("pci-logs-").FullName;
        try
        {
            var audit = Directory.CreateDirectory(Path.Combine(logs, "audit")).FullName;
            await File.WriteAllTextAsync(Path.Combine(audit, "audit.log"), "type=LOGIN msg=audit(1)\n");
            var secure = Path.Combine(logs, "secure"); // not on the node (yet)
            var rule = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
            {
                Name = "audit-logs-" + Guid.NewGuid().ToString("N")[..8],
                Severity = FimSeverity.Medium,
                Scope = new FimScope { Hostnames = ["pci-agent-*"] },
                ComplianceTags = ["pci-dss:10.3.4"],
                Paths = [new FimPath { Path = audit, Recursive = true }, new FimPath { Path = secure }],
                Operations = [FimOperation.Write, FimOperation.Delete],
                Effect = FimEffect.Alert,
                AllowAppend = true,
            });
            await StartAgentAsync("pci-agent-01");
            var agentId = await AgentIdAsync();
            var policy = _agent!.Services.GetRequiredService<Platform.Agent.Fim.FimPolicyService>();
            await Until(() => policy.Rules?.Any(r => r.Id == rule.Id) == true, "the policy with the log rule");
            var heartbeat = _agent.Services.GetServices<IHostedService>().OfType<HeartbeatService>().Single();

            await heartbeat.BeatAsync(CancellationToken.None);
            var report = await api.Admin().GetPciReportAsync(agentId);
            var logIntegrity = report.Requirements.Single(r => r.Id == "10.3.4");
            Assert.Equal("10.5.5", logIntegrity.V321Id);
            var byPath = logIntegrity.Paths.ToDictionary(p => p.Path);
            Assert.Equal((PciState.Pass, AgentFimPathState.Watched), (byPath[audit].State, byPath[audit].Watch));
            Assert.Equal((PciState.NoEvidence, AgentFimPathState.Missing), (byPath[secure].State, byPath[secure].Watch));
            Assert.Equal(PciState.NoEvidence, logIntegrity.State);

            // The log appears on the node: the next heartbeat says so, and the requirement passes.
            await File.WriteAllTextAsync(secure, "");
            await heartbeat.BeatAsync(CancellationToken.None);
            logIntegrity = (await api.Admin().GetPciReportAsync(agentId)).Requirements.Single(r => r.Id == "10.3.4");
            Assert.Equal(PciState.Pass, logIntegrity.State);
            Assert.All(logIntegrity.Paths, p => Assert.Equal(AgentFimPathState.Watched, p.Watch));
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    [Fact]
    public async Task The_containers_the_runtime_runs_are_reported_as_the_nodes_inventory()
    {
        var docker = Path.Combine(_state, "docker");
        var container = Directory.CreateDirectory(Path.Combine(docker, "containers", new string('c', 64))).FullName;
        await File.WriteAllTextAsync(Path.Combine(container, "config.v2.json"),
            "{\"ID\":\"" + new string('c', 64) + "\",\"Name\":\"/db\",\"State\":{\"Running\":true},\"Config\":{\"Image\":\"mysql:8\",\"Env\":[\"MYSQL_ROOT_PASSWORD=hunter2\"]}}");
        await StartAgentAsync("inventory-01", dockerRoot: docker);
        var agentId = await AgentIdAsync();

        Inventory inventory = null!;
        await UntilAsync(async () => (inventory = await api.Admin().GetInventoryAsync(agentId)).Containers.Count == 1, "the inventory at the api");
        var db = inventory.Containers[0];
        Assert.Equal(("db", "mysql:8", "MYSQL_ROOT_PASSWORD", true), (db.Name, db.Image, db.Environment![0].Name, db.Environment[0].Secret)); // flagged by name
    }

    [Fact]
    public async Task The_credential_is_kept_readable_by_the_agent_only_and_reused_after_a_restart()
    {
        await StartAgentAsync("delivery-02");
        var credentials = _agent!.Services.GetRequiredService<Platform.Agent.Enrollment.CredentialStore>();
        await Until(() => credentials.Current is not null, "enrollment");
        var file = Path.Combine(_state, "credential.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var first = credentials.Current!;

        await _agent.StopAsync();
        _agent.Dispose();
        var spool = await StartAgentAsync("delivery-02", enrollToken: "ple_not-used-again");
        spool.Record([TelemetryEvents.Read("after-restart", api.Time.GetUtcNow())]);
        await Until(() => spool.Telemetry.Counts.Records == 0, "delivery after the restart");

        Assert.Equal(first, _agent.Services.GetRequiredService<Platform.Agent.Enrollment.CredentialStore>().Current);
        Assert.Single((await api.Admin().ListAgentsAsync(hostname: "delivery-02")).Items);
        Assert.Equal(["after-restart"], await api.AllEventIds(first.AgentId));
    }

    [Fact]
    public async Task A_rule_made_through_the_api_is_enforced_by_the_agent_and_its_alerts_arrive()
    {
        var watched = Directory.CreateDirectory(Path.Combine(_state, "srv-app")).FullName;
        var rule = await api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "agent-e2e-" + Guid.NewGuid().ToString("N")[..8],
            Severity = FimSeverity.Critical,
            Scope = new FimScope { Hostnames = ["fim-e2e-*"] },
            Paths = [new FimPath { Path = watched, Recursive = true }],
            Operations = [FimOperation.Read, FimOperation.Write],
            Effect = FimEffect.Alert,
        });
        await StartAgentAsync("fim-e2e-01");
        var policy = _agent!.Services.GetRequiredService<Platform.Agent.Fim.FimPolicyService>();
        await Until(() => policy.Rules?.Any(r => r.Id == rule.Id) == true && policy.WatchedDirectories > 0, "the agent to enforce the rule");

        // Other processes than the agent's (this test's): the agent never reports its own reads and writes.
        var config = Path.Combine(watched, "application.cfg");
        await Shell($"echo db.password=hunter2 > {config}");
        await Shell($"cat {config} > /dev/null");

        var agentId = await AgentIdAsync();
        IReadOnlyList<FimAlert> alerts = [];
        await UntilAsync(async () => (alerts = (await api.Admin().ListFimAlertsAsync(agentId: agentId, ruleId: rule.Id)).Items).Count >= 2, "both alerts at the api");
        Assert.Equal([FimOperation.Read, FimOperation.Write], alerts.Select(a => a.Action).Order());
        var attribution = policy.NoAttributionReason is null ? FimAttribution.Available : FimAttribution.Unavailable;
        Assert.All(alerts, a => Assert.Equal((config, "fim-e2e-01", FimSeverity.Critical, attribution), (a.Path, a.Hostname, a.Severity, a.Attribution)));
        if (attribution == FimAttribution.Available)
            Assert.Equal(["cat", "sh"], alerts.Select(a => a.Process!.Name).Order()); // with fanotify: who did it

        // The accesses are flight data too, on the node's timeline.
        List<FileAccessEvent> accesses = [];
        await UntilAsync(async () => (accesses = (await api.Admin().AllEvents(agentId, TelemetryEventKind.File_access)).OfType<FileAccessEvent>().Where(e => e.Path == config).ToList())
            .Select(e => e.Operation).Distinct().Count() == 2, "the file accesses in the flight data");
        Assert.Equal([FimOperation.Read, FimOperation.Write], accesses.Select(e => e.Operation).Distinct().Order());
    }

    private static async Task Shell(string command)
    {
        using var shell = System.Diagnostics.Process.Start("sh", ["-c", command]);
        await shell.WaitForExitAsync();
        Assert.Equal(0, shell.ExitCode);
    }

    private static IEnumerable<PciPathEvidence> Baselines(PciReport report) => report.Requirements.Single(r => r.Id == "11.5.2").Paths;

    private async Task<string> AgentIdAsync()
    {
        var credentials = _agent!.Services.GetRequiredService<Platform.Agent.Enrollment.CredentialStore>();
        await Until(() => credentials.Current is not null, "enrollment");
        return credentials.Current!.AgentId;
    }

    private async Task<Spool> StartAgentAsync(string hostname, string? enrollToken = null, long spoolMaxBytes = 256L << 20, int batchEvents = 500, int collectorMilliseconds = 0, int baselineHours = 0, string? dockerRoot = null)
    {
        enrollToken ??= (await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "agent " + hostname })).Secret;
        var options = new AgentOptions
        {
            Server = api.Server.BaseAddress,
            EnrollToken = enrollToken,
            StateDirectory = _state,
            Hostname = hostname,
            LingerMilliseconds = 20,
            HeartbeatSeconds = 3600,
            BaselineHours = baselineHours,
            DockerRoot = dockerRoot ?? Path.Combine(_state, "no-docker"),
            CollectorMilliseconds = collectorMilliseconds, // off unless asked: the node's own processes would mix with the events a test counts
            PolicySeconds = 1,
            SpoolMaxBytes = spoolMaxBytes,
            TelemetryBatchEvents = batchEvents,
            // These tests are about delivery and the fallback collectors; the kernel sensor has its own (tests/Sensor).
            Sensor = { Mode = Platform.Agent.Sensor.SensorMode.Fallback },
        };
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPlatformAgent(options, () => new OutageHandler(_outage, new SpecCheck(api.Server.CreateHandler())));
        _agent = builder.Build();
        await _agent.StartAsync();
        return _agent.Services.GetRequiredService<Spool>();
    }



    private sealed class Outage
    {
        public volatile bool Down;
        private int _refused;

        public int Refused => Volatile.Read(ref _refused);

        public void Refuse() => Interlocked.Increment(ref _refused);
    }

    /// <summary>The network between agent and api: while the api is "down", connections are refused, as by a stopped server.</summary>
    private sealed class OutageHandler(Outage outage, HttpMessageHandler api) : DelegatingHandler(api)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!outage.Down)
                return base.SendAsync(request, cancellationToken);
            outage.Refuse();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (test outage)");
        }
    }
}

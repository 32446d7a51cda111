using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Platform.Agent.Fim;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Redaction;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>
/// The real agent, as a process, against the real api: the baseline comparison alerts only what nobody saw. An append
/// to an allowAppend log is no alert; a change the watcher alerted live is one alert (the live one), and the next
/// comparison says it was seen live; a change made while the agent was stopped is one alert, from the comparison at
/// its next start, whose reason says so. A comparison comes at start and at every policy change.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class BaselineTruthTests(PlatformApi api) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("baseline-truth-").FullName;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<Process> _agents = [];
    private readonly PlatformApi _api = api.WithMachineClock();
    private readonly string _hostname = "baseline-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose()
    {
        StopAgentProcesses(_agents);

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Only_changes_nobody_saw_are_alerted_by_the_comparison_and_its_reason_says_why()
    {
        var conf = Directory.CreateDirectory(Path.Combine(_root, "conf")).FullName;
        var logs = Directory.CreateDirectory(Path.Combine(_root, "logs")).FullName;
        var (live, offline, log) = (Path.Combine(conf, "app.cfg"), Path.Combine(conf, "db.cfg"), Path.Combine(logs, "audit.log"));
        await File.WriteAllTextAsync(live, "db.host=10.0.3.20\n");
        await File.WriteAllTextAsync(offline, "pool=10\n");
        await File.WriteAllTextAsync(log, "2026-12-05 login ok\n");
        var scope = new FimScope { Hostnames = [_hostname] };
        var config = await _api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = FimRules.Unique("truth-conf"), Severity = FimSeverity.High, Scope = scope, ComplianceTags = ["pci-dss:11.5.2"],
            Paths = [new FimPath { Path = conf, Recursive = true }], Operations = [FimOperation.Write, FimOperation.Delete, FimOperation.Metadata], Effect = FimEffect.Alert,
        });
        var audit = await _api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = FimRules.Unique("truth-log"), Severity = FimSeverity.High, Scope = scope, ComplianceTags = ["pci-dss:11.5.2"], AllowAppend = true,
            Paths = [new FimPath { Path = logs, Recursive = true }], Operations = [FimOperation.Write, FimOperation.Delete], Effect = FimEffect.Alert,
        });
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = _hostname });
        var agent = Start(enrollment.Secret);
        await Comparisons(1, agent);
        var agentId = AgentId();

        // Live: an append the log rule permits, and a change the watcher alerts as it happens.
        await File.AppendAllTextAsync(log, "2026-12-05 logout\n");
        await File.WriteAllTextAsync(live, "db.host=203.0.113.9\n");
        await UntilAsync(async () => (await Alerts(agentId, config)).Any(a => a.Path == live), "the live alert of the change");
        // A policy change brings a comparison.
        await _api.Admin().CreateFimRuleAsync(new FimRuleSpec
        {
            Name = FimRules.Unique("truth-other"), Severity = FimSeverity.Low, Scope = scope,
            Paths = [new FimPath { Path = Path.Combine(_root, "elsewhere") }], Operations = [FimOperation.Read], Effect = FimEffect.Alert,
        });
        await Comparisons(2, agent);
        PciPathEvidence? conf11 = null, log11 = null;
        await UntilAsync(async () =>
        {
            var paths = (await _api.Admin().GetPciReportAsync(agentId)).Requirements.Single(r => r.Id == "11.5.2").Paths;
            (conf11, log11) = (paths.Single(p => p.Path == conf), paths.Single(p => p.Path == logs));
            return conf11.Change is not null && log11.Change is not null;
        }, "the second comparison in the PCI report");
        Assert.Equal((FimBaselineResult.Changed, FimBaselineChangeSeen.Live, FimOperation.Write), (conf11!.Result, conf11.Change!.Seen, conf11.Change.Action));
        Assert.Contains("the write was alerted live at ", conf11.Detail, StringComparison.Ordinal);
        Assert.Equal((FimBaselineResult.Match, FimBaselineChangeSeen.PermittedAppend, PciState.Pass), (log11!.Result, log11.Change!.Seen, log11.State));

        // Stopped: a change nobody can see, found by the comparison at the next start.
        agent.Kill();
        await agent.WaitForExitAsync();
        await File.WriteAllTextAsync(offline, "pool=500\n");
        agent = Start(enrollment.Secret);
        await UntilAsync(async () => (await Alerts(agentId, config)).Any(a => a.Path == offline), "the comparison's alert of the change made while the agent was stopped");

        // Alerts go out in the order they were made: by now every earlier one is in.
        var alerts = await Alerts(agentId, config);
        var seenLive = Assert.Single(alerts, a => a.Path == live);
        Assert.False(seenLive.AttributionReason?.StartsWith(FimBaseline.FoundByComparison, StringComparison.Ordinal) == true, seenLive.AttributionReason);
        var found = Assert.Single(alerts, a => a.Path == offline);
        Assert.Equal((1L, FimOperation.Write, FimAttribution.Unavailable), (found.Count, found.Action, found.Attribution));
        Assert.StartsWith(FimBaseline.FoundByComparison + " taken ", found.AttributionReason, StringComparison.Ordinal);
        Assert.Contains(": no live alert for it since; the agent started ", found.AttributionReason, StringComparison.Ordinal);
        Assert.EndsWith("the change may have been made while it was not running", found.AttributionReason, StringComparison.Ordinal);
        Assert.Equal(2, alerts.Count);
        Assert.Empty(await Alerts(agentId, audit));
        Assert.False(agent.HasExited, string.Join("\n", _output));
    }

    private async Task<IReadOnlyList<FimAlert>> Alerts(string agentId, FimRule rule) => (await _api.Admin().ListFimAlertsAsync(agentId: agentId, ruleId: rule.Id)).Items;

    /// <summary>Waits until the agents of this test made <paramref name="count"/> comparisons in all.</summary>
    private async Task Comparisons(int count, Process agent)
    {
        await Until(() => _output.Count(l => l.Contains("FIM baseline: ", StringComparison.Ordinal)) >= count || agent.HasExited, $"comparison {count}");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
    }

    private string AgentId() => JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "state", "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;

    private Process Start(string enrollToken)
    {
        var settings = AgentSettings(_api, enrollToken, Path.Combine(_root, "state"), _hostname);
        settings["Platform__Agent__BaselineHours"] = "168"; // at start and at each policy change; the weekly one never comes in a test
        settings["Platform__Agent__Sensor__Mode"] = "none";
        settings["Platform__Agent__Enforcement__Mode"] = "none";
        var process = StartAgentProcess([], settings, _output);
        _agents.Add(process);
        return process;
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BaselineTruthTestsOnSqlite(KestrelApiForAgents api) : BaselineTruthTests(api), IClassFixture<KestrelApiForAgents>;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BaselineTruthTestsOnPostgres(KestrelPostgresApiForAgents api) : BaselineTruthTests(api), IClassFixture<KestrelPostgresApiForAgents>;

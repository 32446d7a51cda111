using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Platform.Agent.Enforcement;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The real agent, as a process, keeping a prevent rule from the real api with inode attributes: the heartbeat says
/// so; SIGKILLed, the file is still refused and the api raises a <c>sensor-silent</c> incident, which the restarted
/// agent's heartbeat resolves; started again it knows what it set; the rule deleted, the file gets its original
/// attributes back; an unlock through the api lets a deployment write, audited, until it is locked or the window ends;
/// <c>Platform.Agent uninstall</c> gives back what the ledger holds.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class AgentEnforcementTests(PlatformApi api) : IDisposable
{
    private readonly ProtectedTree _tree = new();
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<Process> _agents = [];
    private readonly PlatformApi _api = api.WithMachineClock();
    private readonly string _hostname = "enforce-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose()
    {
        StopAgentProcesses(_agents);

        _tree.Dispose();
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task Protection_outlives_a_sigkilled_agent_and_goes_when_the_rule_does()
    {
        var (rule, enrollment, agent) = await ProtectKeyAsync("agent-key");
        var agentId = AgentId();
        AgentCapability? prevention = null;
        await UntilAsync(async () => (prevention = (await _api.Admin().GetAgentAsync(agentId)).Status?.Capabilities.Prevention)?.Mechanism is not null, "a heartbeat with the mechanism");
        Assert.Equal((true, AgentPreventionMechanism.InodeAttributes, (string?)null), (prevention!.Available, prevention.Mechanism, prevention.Reason));

        // Silence is counted from a heartbeat the api dated now (the fixture's clock stands still between the test's
        // looks, so earlier heartbeats may be dated before, and a silence counted from them may come and go already).
        var alive = _api.WithMachineClock().Time.GetUtcNow();
        await Sensing.Until(async () => (await _api.Admin().GetAgentAsync(agentId)).LastSeenAt >= alive, "a heartbeat dated now", _api);
        var earlier = (await SilentIncidents(agentId)).Select(i => i.Id).ToHashSet();

        agent.Kill(); // SIGKILL: nothing given back
        await agent.WaitForExitAsync();
        Assert.NotEqual(0, Shell.Sh($"echo tampered > {_tree.Key}", asNobody: false, _tree.Scratch).ExitCode);
        Assert.NotEqual(0, Shell.Sh($"rm -f {_tree.Key}", asNobody: true, _tree.Scratch).ExitCode);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(_tree.Key), StringComparison.Ordinal);

        var silent = await Sensing.Found(async () => (await SilentIncidents(agentId)).FirstOrDefault(i => !earlier.Contains(i.Id)), "a sensor-silent incident", _api);
        Assert.Equal((IncidentStatus.Open, IncidentSeverity.High), (silent.Status, silent.Severity));
        Assert.True(silent.FirstSeen >= alive, $"the silence counts from {silent.FirstSeen:O}, before the heartbeat of {alive:O}");
        Assert.True(silent.CreatedAt - silent.FirstSeen >= EnforcementApi.SilentAfter, $"raised {silent.CreatedAt - silent.FirstSeen} after the last heartbeat");
        Assert.Equal(DetectionRule.AgentHeartbeatsMissed, Assert.Single((await _api.Admin().ListIncidentFindingsAsync(silent.Id)).Items).Rule);

        // Started again: its heartbeat resolves the silence; it finds what it set in its ledger, and gives it back when
        // the rule is deleted.
        agent = Start(enrollment.Secret);
        await Sensing.Until(async () => (await _api.Admin().GetIncidentAsync(silent.Id)).Status == IncidentStatus.Resolved || agent.HasExited, "the restarted agent's heartbeat to resolve the silence", _api);
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        Assert.Equal(IncidentResolution.TruePositive, (await _api.Admin().GetIncidentAsync(silent.Id)).Resolution);
        await Until(() => _output.Any(l => l.Contains("FIM policy:", StringComparison.Ordinal)) || agent.HasExited, "the restarted agent to have its policy");
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key));
        await _api.Admin().DeleteFimRuleAsync(rule.Id);
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.None || agent.HasExited, "the key's original attributes back");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        Shell.Sh($"echo rotated > {_tree.Key}", asNobody: true, _tree.Scratch).Succeeded("write the key once no rule protects it");
    }

    /// <summary>
    /// An operator unlocks the key's rule through the api (the shortest window, a minute): the agent lifts the attribute,
    /// a deployment writes the key, its alert says <c>unlocked</c> and makes no incident, and the audit log names the
    /// operator and the reason. Locked again through the api, the attribute is back and a write refused; unlocked once
    /// more and left to run out, the attribute comes back when the window ends, not before.
    /// </summary>
    [Fact]
    public async Task An_unlock_lets_a_deployment_write_audited_and_the_lock_returns_when_locked_and_when_the_window_ends()
    {
        var (rule, _, agent) = await ProtectKeyAsync("agent-unlock");
        Assert.NotEqual(0, Shell.Sh($"echo early > {_tree.Key}", asNobody: true, _tree.Scratch).ExitCode);
        var agentId = AgentId();
        var (operatorClient, operatorToken) = await _api.ClientWithRole(Role.Operator);

        await DeployAsync(agent, agentId, operatorClient, rule, "CHG-4711: rotate the TLS key", "deployed-1");
        await operatorClient.LockFimRuleAsync(rule.Id);
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.Immutable || agent.HasExited, "the key locked again");
        Assert.NotEqual(0, Shell.Sh($"echo after-lock > {_tree.Key}", asNobody: true, _tree.Scratch).ExitCode);
        Assert.Equal("deployed-1\n", File.ReadAllText(_tree.Key));

        var window = await DeployAsync(agent, agentId, operatorClient, rule, "CHG-4712: renew the TLS key", "deployed-2");
        await Sensing.Until(() => Task.FromResult(ProtectedTree.Flags(_tree.Key) == InodeFlag.Immutable || agent.HasExited), "the window to run out", _api);
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        Assert.True(DateTimeOffset.UtcNow >= window.Until, $"the key was locked again before the window's end ({window.Until:O})");
        Assert.NotEqual(0, Shell.Sh($"echo after-window > {_tree.Key}", asNobody: true, _tree.Scratch).ExitCode);
        Assert.Equal("deployed-2\n", File.ReadAllText(_tree.Key));

        var unlocks = (await _api.Admin().ListAuditEntriesAsync(action: "fim-rule.unlock", targetType: "fim-rule", targetId: rule.Id)).Items;
        Assert.Equal(2, unlocks.Count);
        Assert.All(unlocks, e => Assert.Equal((operatorToken.Token.Id, "operator"), (e.ActorTokenId, e.ActorRole)));
        Assert.Contains(unlocks, e => JsonSerializer.Serialize(e.After).Contains("CHG-4711: rotate the TLS key", StringComparison.Ordinal));
        var locked = Assert.Single((await _api.Admin().ListAuditEntriesAsync(action: "fim-rule.lock", targetType: "fim-rule", targetId: rule.Id)).Items);
        Assert.Equal(operatorToken.Token.Id, locked.ActorTokenId);
        Assert.Empty((await _api.Admin().ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.FimTamper])).Items);
    }

    /// <summary>A prevent rule on the key (the private-key rule's operations), and the agent started until it keeps it.</summary>
    private async Task<(FimRule Rule, EnrollmentTokenCreated Enrollment, Process Agent)> ProtectKeyAsync(string name)
    {
        var spec = FimRules.PrivateKey(FimRules.Unique(name));
        (spec.Scope, spec.Paths) = (new FimScope { Hostnames = [_hostname] }, [new FimPath { Path = _tree.Key }]);
        var rule = await _api.Admin().CreateFimRuleAsync(spec);
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = _hostname });
        var agent = Start(enrollment.Secret);
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.Immutable || agent.HasExited, "the agent to protect the key");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        return (rule, enrollment, agent);
    }

    /// <summary>Opens a one-minute window, waits for the agent to lift the key's attribute, writes the key as a deployment would, and waits for its <c>unlocked</c> alert.</summary>
    private async Task<FimRuleUnlock> DeployAsync(Process agent, string agentId, PlatformClient operatorClient, FimRule rule, string reason, string content)
    {
        _api.WithMachineClock(); // the window opens now on the machine's clock, on which the agent dates its alerts
        var window = await operatorClient.UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = 1, Reason = reason }, rule.Id);
        // Written the moment the attribute is lifted: the agent lifts it before it replaces its file watcher, and the
        // watcher of the policy before must already count the write as the window's (FimPolicyService.Enforce).
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.None || agent.HasExited, "the agent to lift the key's attribute for the window");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        var before = await Writes();
        Shell.Sh($"echo {content} > {_tree.Key}", asNobody: true, _tree.Scratch).Succeeded("the deployment's write in the window");
        await Sensing.Until(async () => await Writes() > before, $"the alert of the deployment's write ({content})", _api);
        var alerts = (await _api.Admin().ListFimAlertsAsync(agentId: agentId, ruleId: rule.Id)).Items;
        Assert.All(alerts, a => Assert.Equal((FimAlertEffect.Alerted, true, "nobody"), (a.Effect, a.Unlocked, a.Process?.User)));
        return window;

        // The deployment's writes the api has (one alert, counted again when the next is the same write by the same user).
        async Task<long> Writes() => (await _api.Admin().ListFimAlertsAsync(agentId: agentId, ruleId: rule.Id, action: FimOperation.Write)).Items.Where(a => a.Path == _tree.Key).Sum(a => a.Count);
    }

    [Fact]
    public async Task Uninstall_gives_back_every_attribute_the_agent_set()
    {
        var spec = FimRules.PrivateKey(FimRules.Unique("agent-conf"));
        (spec.Scope, spec.Paths, spec.Operations) = (new FimScope { Hostnames = [_hostname] }, [new FimPath { Path = _tree.Config, Recursive = true }], [FimOperation.Write, FimOperation.Create]);
        await _api.Admin().CreateFimRuleAsync(spec);
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = _hostname });
        var agent = Start(enrollment.Secret);
        await Until(() => ProtectedTree.Flags(_tree.ConfigFile) == InodeFlag.Immutable || agent.HasExited, "the agent to protect the configuration");
        agent.Kill();
        await agent.WaitForExitAsync();

        var uninstall = Shell.Run(AgentExecutable, "uninstall", "--state-dir", _tree.State).Succeeded("Platform.Agent uninstall");

        Assert.Contains("Gave 4 of 4 protected files and directories their original attributes back.", uninstall.Output, StringComparison.Ordinal);
        Assert.Equal((InodeFlag.None, InodeFlag.None), (ProtectedTree.Flags(_tree.Config), ProtectedTree.Flags(_tree.ConfigFile)));
        Assert.False(File.Exists(Path.Combine(_tree.State, "enforcement.json")));
        Assert.Contains("Nothing to give back", Shell.Run(AgentExecutable, "uninstall", "--state-dir", _tree.State).Succeeded("uninstall again").Output, StringComparison.Ordinal);
    }

    private async Task<List<Incident>> SilentIncidents(string agentId) =>
        [.. (await _api.Admin().ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.SensorSilent])).Items];

    private string AgentId() => JsonDocument.Parse(File.ReadAllText(Path.Combine(_tree.State, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;

    private Process Start(string enrollToken)
    {
        var settings = AgentSettings(_api, enrollToken, _tree.State, _hostname);
        settings["Platform__Agent__BaselineHours"] = "0";
        settings["Platform__Agent__Sensor__Mode"] = "none";
        settings["Platform__Agent__Enforcement__Mode"] = "inode-attributes";
        settings["Platform__Agent__Enforcement__VerifySeconds"] = "1";
        var process = StartAgentProcess([], settings, _output);
        _agents.Add(process);
        return process;
    }
}

/// <summary>
/// The api for the real agent's enforcement tests: on real Kestrel, raising <c>sensor-silent</c> after the shortest
/// silence <c>Platform:Agents:SilentAfter</c> allows (10 s), looked for every second (<c>SilenceScanInterval</c>).
/// </summary>
public sealed class EnforcementApiOnSqlite : SqliteApi
{
    public EnforcementApiOnSqlite() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => EnforcementApi.Settings;
}

/// <summary>The same on PostgreSQL.</summary>
public sealed class EnforcementApiOnPostgres : PostgresApi
{
    public EnforcementApiOnPostgres() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => EnforcementApi.Settings;
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentEnforcementTestsOnSqlite(EnforcementApiOnSqlite api) : AgentEnforcementTests(api), IClassFixture<EnforcementApiOnSqlite>;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentEnforcementTestsOnPostgres(EnforcementApiOnPostgres api) : AgentEnforcementTests(api), IClassFixture<EnforcementApiOnPostgres>;

internal static class EnforcementApi
{
    public static readonly TimeSpan SilentAfter = TimeSpan.FromSeconds(10);

    public static IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Agents:SilentAfter"] = SilentAfter.ToString(),
        ["Platform:Agents:SilenceScanInterval"] = "00:00:01",
    };
}

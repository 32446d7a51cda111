using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Platform.Agent.Enforcement;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Redaction;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The real agent, as a process, keeping a prevent rule from the real api with inode attributes: the heartbeat says
/// so; SIGKILLed, the file is still refused; started again it knows what it set; the rule deleted, the file gets its
/// original attributes back; <c>Platform.Agent uninstall</c> gives back what the ledger holds.
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
    }

    [Fact]
    public async Task Protection_outlives_a_sigkilled_agent_and_goes_when_the_rule_does()
    {
        var spec = FimRules.PrivateKey(FimRules.Unique("agent-key"));
        (spec.Scope, spec.Paths) = (new FimScope { Hostnames = [_hostname] }, [new FimPath { Path = _tree.Key }]);
        var rule = await _api.Admin().CreateFimRuleAsync(spec);
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = _hostname });

        var agent = Start(enrollment.Secret);
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.Immutable || agent.HasExited, "the agent to protect the key");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        var agentId = AgentId();
        AgentCapability? prevention = null;
        await UntilAsync(async () => (prevention = (await _api.Admin().GetAgentAsync(agentId)).Status?.Capabilities.Prevention)?.Mechanism is not null, "a heartbeat with the mechanism");
        Assert.Equal((true, AgentPreventionMechanism.InodeAttributes, (string?)null), (prevention!.Available, prevention.Mechanism, prevention.Reason));

        agent.Kill(); // SIGKILL: nothing given back
        await agent.WaitForExitAsync();
        Assert.NotEqual(0, Shell.Sh($"echo tampered > {_tree.Key}", asNobody: false, _tree.Scratch).ExitCode);
        Assert.NotEqual(0, Shell.Sh($"rm -f {_tree.Key}", asNobody: true, _tree.Scratch).ExitCode);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(_tree.Key), StringComparison.Ordinal);

        // Started again: it finds what it set in its ledger, and gives it back when the rule is deleted.
        agent = Start(enrollment.Secret);
        await Until(() => _output.Any(l => l.Contains("FIM policy:", StringComparison.Ordinal)) || agent.HasExited, "the restarted agent to have its policy");
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key));
        await _api.Admin().DeleteFimRuleAsync(rule.Id);
        await Until(() => ProtectedTree.Flags(_tree.Key) == InodeFlag.None || agent.HasExited, "the key's original attributes back");
        Assert.False(agent.HasExited, "the agent stopped: " + string.Join("\n", _output));
        Shell.Sh($"echo rotated > {_tree.Key}", asNobody: true, _tree.Scratch).Succeeded("write the key once no rule protects it");
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

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentEnforcementTestsOnSqlite(KestrelApiForAgents api) : AgentEnforcementTests(api), IClassFixture<KestrelApiForAgents>;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AgentEnforcementTestsOnPostgres(KestrelPostgresApiForAgents api) : AgentEnforcementTests(api), IClassFixture<KestrelPostgresApiForAgents>;

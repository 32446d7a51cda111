using System.Diagnostics;
using Platform.Agent.Enforcement;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;

namespace Platform.Tests.Enforcement;

/// <summary>
/// Root (CAP_LINUX_IMMUTABLE) clears the attribute that keeps a <c>prevent</c> rule's file: <c>chattr -i</c> on a key,
/// <c>chattr -a</c> on an append-only log. The real agent (native executable, kernel sensor on, attributes in force)
/// puts the attribute back within a second of the <c>chattr</c>, and the real api has a critical
/// <c>attribute-removed</c> alert naming chattr's pid and uid, and a critical <c>fim-tamper</c> incident, though the
/// rules are of low severity and the log's rule does not list <c>metadata</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class AttributeRemovedAgentTests(PlatformApi api, Xunit.Abstractions.ITestOutputHelper output)
{
    private readonly PlatformApi _api = api.WithMachineClock();

    [Fact]
    public async Task Root_clearing_the_attribute_is_a_critical_alert_and_the_attribute_is_back_within_a_second()
    {
        using var tree = new ProtectedTree();
        var name = "cleared-" + Guid.NewGuid().ToString("N")[..8];
        using var agent = await PreventingAgent.StartAsync(_api, name, [tree.KeyRule, tree.LogRule], FimSeverity.Low);
        Assert.False(agent.Process.HasExited, agent.Log);
        await Sensing.Until(() => Task.FromResult((ProtectedTree.Flags(tree.Key), ProtectedTree.Flags(tree.Log)) == (InodeFlag.Immutable, InodeFlag.Append) || agent.Process.HasExited), "the agent to protect the key and the log", _api);
        Assert.False(agent.Process.HasExited, agent.Log);

        foreach (var (path, option, attribute) in new[] { (tree.Key, "-i", InodeFlag.Immutable), (tree.Log, "-a", InodeFlag.Append) })
        {
            var (pid, back) = await ClearAsync(path, option, attribute);
            output.WriteLine($"chattr {option}: the attribute back {back.TotalMilliseconds:N1} ms after chattr exited");
            Assert.True(back < TimeSpan.FromSeconds(1), $"chattr {option} {path}: the attribute came back {back.TotalMilliseconds:N0} ms after chattr exited");

            var alert = await Sensing.Found(async () => (await _api.Admin().ListFimAlertsAsync(agentId: agent.AgentId, effect: FimAlertEffect.AttributeRemoved)).Items.SingleOrDefault(a => a.Path == path), $"the alert of chattr {option}", _api);
            Assert.Equal((FimOperation.Metadata, FimSeverity.Critical, FimAttribution.Available), (alert.Action, alert.Severity, alert.Attribution));
            Assert.Equal((pid, "chattr", 0L, "root"), (alert.Process!.Pid, alert.Process.Name, alert.Process.Uid, alert.Process.User));
            Assert.Contains($"{(attribute == InodeFlag.Immutable ? "the immutable" : "the append-only")} attribute was removed", alert.EffectReason, StringComparison.Ordinal);
        }

        // The api writes an alert's finding after the alert itself (FimAlertEndpoints): listed alerts may be ahead of
        // their findings, so the incident is awaited until it holds both.
        var incident = await Sensing.Found(async () => (await agent.Incidents(IncidentCategory.FimTamper)).SingleOrDefault(), "the fim-tamper incident", _api);
        await Sensing.Until(async () => (await agent.Findings(incident.Id)).Count(f => f.Rule == DetectionRule.FimAttributeRemoved) >= 2, "both attribute-removed findings", _api);
        Assert.Single(await agent.Incidents(IncidentCategory.FimTamper));
        Assert.Equal(IncidentSeverity.Critical, (await agent.Incidents(IncidentCategory.FimTamper)).Single().Severity);
        Assert.Equal(2, (await agent.Findings(incident.Id)).Count(f => f.Rule == DetectionRule.FimAttributeRemoved));
    }

    /// <summary>
    /// Runs <c>chattr</c> as root on <paramref name="path"/> and polls the inode's flags (the ioctl) until
    /// <paramref name="attribute"/> is back: chattr's pid, and how long after its exit the attribute was back.
    /// </summary>
    private static async Task<(int Pid, TimeSpan Back)> ClearAsync(string path, string option, InodeFlag attribute)
    {
        using var chattr = Process.Start(new ProcessStartInfo("chattr", [option, path]) { RedirectStandardError = true })!;
        var error = chattr.StandardError.ReadToEndAsync();
        await chattr.WaitForExitAsync();
        var exited = Stopwatch.GetTimestamp();
        Assert.True(chattr.ExitCode == 0, $"chattr {option} {path}: {await error}");
        var deadline = TimeSpan.FromMinutes(1);
        while (!ProtectedTree.Flags(path).HasFlag(attribute))
        {
            if (Stopwatch.GetElapsedTime(exited) > deadline)
                throw new TimeoutException($"Waited {deadline.TotalSeconds} s for chattr {option} {path} to be undone.");
            await Task.Delay(1);
        }

        return (chattr.Id, Stopwatch.GetElapsedTime(exited));
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttributeRemovedAgentTestsOnSqlite(SensorApiOnSqlite api, Xunit.Abstractions.ITestOutputHelper output) : AttributeRemovedAgentTests(api, output), IClassFixture<SensorApiOnSqlite>;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttributeRemovedAgentTestsOnPostgres(SensorApiOnPostgres api, Xunit.Abstractions.ITestOutputHelper output) : AttributeRemovedAgentTests(api, output), IClassFixture<SensorApiOnPostgres>;

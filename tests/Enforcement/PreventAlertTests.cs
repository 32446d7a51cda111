using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;
using static Platform.Tests.Enforcement.TamperTechniqueTests;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The real agent (its native executable, kernel sensor on, inode attributes in force) against the real api: every
/// technique of the tamper table that the attributes refuse, run as an unprivileged user who may write the files and
/// as root, is refused by the kernel and reported as FIM alerts with effect <c>prevented</c> and the real process and
/// user: no attempt is silent, though the file watcher never hears of it (the kernel refused it first).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class PreventAlertTests(PlatformApi api)
{
    private readonly PlatformApi _api = api.WithMachineClock();

    [Theory]
    [InlineData(Target.Key, true)]
    [InlineData(Target.Key, false)]
    [InlineData(Target.Config, true)]
    [InlineData(Target.Config, false)]
    [InlineData(Target.Log, true)]
    [InlineData(Target.Log, false)]
    public async Task Every_refused_technique_is_an_attributed_prevented_alert(Target target, bool asNobody)
    {
        using var tree = new ProtectedTree();
        var name = "prevent-" + Guid.NewGuid().ToString("N")[..8];
        // The sentinel: a file of the key rule's, truncated by the C helper after each technique. The agent reports the
        // kernel's records in order, so once the sentinel's alert is stored, every alert of the technique before it is.
        var sentinel = Path.Combine(tree.KeyDirectory, "sentinel.key");
        File.WriteAllText(sentinel, "sentinel\n");
        tree.KeyRule.Paths = [.. tree.KeyRule.Paths, new FimPath { Path = sentinel }];
        using var agent = await PreventingAgent.StartAsync(_api, name, tree.Rules);
        Assert.False(agent.Process.HasExited, agent.Log);
        await Sensing.Until(() => Task.FromResult(ProtectedTree.Flags(sentinel).HasFlag(Platform.Agent.Enforcement.InodeFlag.Immutable) || agent.Process.HasExited), "the agent to protect the tree", _api);
        Assert.False(agent.Process.HasExited, agent.Log);

        var (file, directory) = Where(tree, target);
        var uid = asNobody ? ProtectedTree.Nobody : 0;
        var sentinels = 0L;
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        var protectedPaths = Directory.EnumerateFileSystemEntries(tree.Root, "*", SearchOption.AllDirectories).Append(tree.Root).Where(p => p != sentinel).ToHashSet(StringComparer.Ordinal);
        var silent = new List<string>();
        foreach (var technique in Techniques.Where(t => (target switch { Target.Key => t.Key, Target.Config => t.Config, _ => t.Log }) == Outcome.Refused))
        {
            var result = Shell.Sh(Command(technique.Command, tree, file, directory), asNobody, tree.Scratch);
            Assert.True(result.ExitCode != 0, $"'{technique.Name}' went through on the {target}: {result.Output}");
            Shell.Sh($"{Shell.Tamper} truncate {sentinel}", asNobody, tree.Scratch);
            sentinels++;
            List<FimAlert> alerts = [];
            await Sensing.Until(async () =>
            {
                alerts = await Alerts(agent.AgentId);
                return alerts.Where(a => a.Path == sentinel).Sum(a => a.Count) >= sentinels;
            }, $"the sentinel's alert after '{technique.Name}'", _api);

            // The alerts on what was there before: an append-only log directory lets files be made (a new log: sed -i's
            // temporary file), which the file watcher reports as it sees them.
            var fresh = alerts.Where(a => a.Path != sentinel && (protectedPaths.Contains(a.Path) || (protectedPaths.Contains(Path.GetDirectoryName(a.Path)!) && a.Effect == FimAlertEffect.Prevented))
                && a.Count > seen.GetValueOrDefault(a.Id)).ToList();
            foreach (var alert in fresh)
            {
                Assert.True(alert.Effect == FimAlertEffect.Prevented, $"'{technique.Name}' on the {target}: {alert.Effect} {alert.Description}");
                Assert.Equal((FimAttribution.Available, (long)uid, asNobody ? "nobody" : "root"), (alert.Attribution, alert.Process!.Uid, alert.Process.User));
                Assert.NotEqual("Platform.Agent", alert.Process.Name);
                seen[alert.Id] = alert.Count;
            }

            if (fresh.Count == 0)
                silent.Add(technique.Name);
        }

        // No technique is silent: io_uring's too (the sensor's io_uring programs, docs/sensor-tamper.md).
        Assert.True(silent.Count == 0, $"silent on the {target} ({(asNobody ? "nobody" : "root")}): {string.Join(", ", silent)}");
        Assert.All((await Alerts(agent.AgentId)).Where(a => protectedPaths.Contains(a.Path)), a => Assert.Equal(FimAlertEffect.Prevented, a.Effect));
    }

    private async Task<List<FimAlert>> Alerts(string agentId)
    {
        var alerts = new List<FimAlert>();
        string? cursor = null;
        do
        {
            var page = await _api.Admin().ListFimAlertsAsync(limit: 200, cursor: cursor, agentId: agentId);
            alerts.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return alerts;
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PreventAlertTestsOnSqlite(SensorApiOnSqlite api) : PreventAlertTests(api), IClassFixture<SensorApiOnSqlite>;

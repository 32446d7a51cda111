using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;
using static Platform.Tests.Enforcement.TamperTechniqueTests;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The real agent (its native executable, kernel sensor on, inode attributes in force) against the real api: every
/// technique of the tamper table that the attributes refuse, run as an unprivileged user who may write the files and
/// as root, is refused by the kernel and reported as exactly one FIM alert on its target with effect <c>prevented</c> and
/// the real process and user: no attempt is silent, though the file watcher never hears of it (the kernel refused it
/// first), and a tool that makes several refused system calls on it is one alert.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class PreventAlertTests(PlatformApi api)
{
    private readonly PlatformApi _api = api.WithMachineClock();

    /// <summary>Each target, as the unprivileged writer and as root.</summary>
    public static TheoryData<Target, bool> TargetsAsEitherUser() => new()
    {
        { Target.Key, true }, { Target.Key, false }, { Target.Config, true }, { Target.Config, false }, { Target.Log, true }, { Target.Log, false },
    };

    [Theory]
    [MemberData(nameof(TargetsAsEitherUser))]
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
        var notOne = new List<string>();
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
            var before = new Dictionary<string, long>(seen, StringComparer.Ordinal);
            foreach (var alert in fresh)
            {
                Assert.True(alert.Effect == FimAlertEffect.Prevented, $"'{technique.Name}' on the {target}: {alert.Effect} {alert.Description}");
                Assert.Equal((FimAttribution.Available, (long)uid, asNobody ? "nobody" : "root"), (alert.Attribution, alert.Process!.Uid, alert.Process.User));
                Assert.NotEqual("Platform.Agent", alert.Process.Name);
                seen[alert.Id] = alert.Count;
            }

            if (fresh.Count == 0)
                silent.Add(technique.Name);
            // One attempt, one alert on its target (a tool's temporary files beside it are files of their own), whatever
            // number of system calls the tool made on it (touch -d: an open, then utimensat).
            var (onTarget, _) = AlertRuleTechniqueTests.Targets(technique.Name, target, file, directory);
            // A tool refused before it reached the file (sed -i cannot make its temporary file in a protected directory):
            // its one alert is on the entry it tried to make.
            var counted = fresh.Where(a => onTarget(a.Path)).ToList() is { Count: > 0 } on ? on
                : fresh.Where(a => Path.GetDirectoryName(a.Path) == directory && !protectedPaths.Contains(a.Path)).ToList();
            var sightings = counted.Sum(a => a.Count - before.GetValueOrDefault(a.Id));
            if (fresh.Count > 0 && sightings != 1)
                notOne.Add($"'{technique.Name}': {sightings} ({string.Join("; ", fresh.Select(a => $"{a.Action} {a.Path} by {a.Process?.Name}"))})");
        }

        // No technique is silent: io_uring's too (the sensor's io_uring programs, docs/sensor-tamper.md).
        Assert.True(silent.Count == 0, $"silent on the {target} ({(asNobody ? "nobody" : "root")}): {string.Join(", ", silent)}");
        Assert.True(notOne.Count == 0, $"on the {target} ({(asNobody ? "nobody" : "root")}), not exactly one alert: {string.Join(", ", notOne)}");
        Assert.All((await Alerts(agent.AgentId)).Where(a => protectedPaths.Contains(a.Path)), a => Assert.Equal(FimAlertEffect.Prevented, a.Effect));
    }

    private Task<List<FimAlert>> Alerts(string agentId) => AllAlerts(_api, agentId);

    /// <summary>Every alert of an agent, all pages.</summary>
    internal static async Task<List<FimAlert>> AllAlerts(PlatformApi api, string agentId)
    {
        var alerts = new List<FimAlert>();
        string? cursor = null;
        do
        {
            var page = await api.Admin().ListFimAlertsAsync(limit: 200, cursor: cursor, agentId: agentId);
            alerts.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return alerts;
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PreventAlertTestsOnSqlite(SensorApiOnSqlite api) : PreventAlertTests(api), IClassFixture<SensorApiOnSqlite>;

using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;
using Platform.Tests.Sensor;
using static Platform.Tests.Enforcement.TamperTechniqueTests;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The tamper table against <c>alert</c> rules (no prevention): the real agent (its native executable, kernel sensor
/// on) against the real api, each technique run as an unprivileged user who may write the files and as root, on a key
/// file, a configuration directory and an append-only log directory. Every technique changes its file and makes
/// exactly one alert on it, effect <c>alerted</c>, with the real process and user: from the kernel sensor (writes
/// through symlinks and hard links, replace-by-rename, truncation, metadata, removal), and for the append-only log's
/// writes from the file watcher, which alone can tell an append (no alert) from a rewrite. Each technique has a file of
/// its own, so nothing has to be put back between them.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public abstract class AlertRuleTechniqueTests(PlatformApi api)
{
    private static readonly FimOperation[] Changes = [FimOperation.Write, FimOperation.Create, FimOperation.Delete, FimOperation.Rename, FimOperation.Metadata];

    private readonly PlatformApi _api = api.WithMachineClock();

    [Theory]
    [MemberData(nameof(PreventAlertTests.TargetsAsEitherUser), MemberType = typeof(PreventAlertTests))]
    public Task Every_technique_changes_the_file_and_makes_exactly_one_attributed_alert(Target target, bool asNobody) =>
        EveryTechniqueMakesOneAlert(target, asNobody, FimEffect.Alert);

    /// <summary>
    /// The same table against <c>prevent</c> rules on a ramfs (no immutable or append-only attribute): every technique
    /// goes through, and none is silent: exactly one alert each, effect <c>prevent-unsupported</c> with the enforcement's
    /// reason, with the real process and user.
    /// </summary>
    [Theory]
    [MemberData(nameof(PreventAlertTests.TargetsAsEitherUser), MemberType = typeof(PreventAlertTests))]
    public Task On_a_filesystem_without_the_attributes_every_technique_makes_exactly_one_prevent_unsupported_alert(Target target, bool asNobody) =>
        EveryTechniqueMakesOneAlert(target, asNobody, FimEffect.Prevent);

    /// <summary>
    /// The table against rules of <paramref name="effect"/>: <c>alert</c> on the temporary directory's filesystem, each
    /// alert <c>alerted</c>; <c>prevent</c> on a ramfs, each alert <c>prevent-unsupported</c> because ramfs has no attribute.
    /// </summary>
    private async Task EveryTechniqueMakesOneAlert(Target target, bool asNobody, FimEffect effect)
    {
        using var tree = new ProtectedTree(onRamfs: effect == FimEffect.Prevent);
        var (expectedEffect, expectedReason) = effect == FimEffect.Prevent ? (FimAlertEffect.PreventUnsupported, "ramfs has no immutable attribute") : (FimAlertEffect.Alerted, null);
        var name = "alert-" + Guid.NewGuid().ToString("N")[..8];
        // The renaming of the directory comes last: it moves every other technique's file too.
        var techniques = Techniques.OrderBy(t => t.Name == "rename of the parent directory").ToList();
        var directory = Where(tree, target).Directory;
        var files = techniques.Select((t, i) => target switch
        {
            Target.Key => Path.Combine(tree.KeyDirectory, $"key-{i}.key"),
            Target.Config => Path.Combine(tree.Config, $"app-{i}.cfg"),
            _ => Path.Combine(tree.Logs, $"app-{i}.log"),
        }).ToList();
        foreach (var file in files)
            File.WriteAllText(file, "2026-12-04T23:00:00Z login root\nsecond line\n");
        var (keySentinel, logSentinel) = (Path.Combine(tree.Root, "sentinel.key"), Path.Combine(tree.Root, "sentinel.log"));
        var (keyReady, logReady) = (Path.Combine(tree.Root, "ready.key"), Path.Combine(tree.Root, "ready.log"));
        foreach (var file in new[] { keySentinel, logSentinel, keyReady, logReady })
            File.WriteAllText(file, "0\n");
        Shell.Run("chown", "-R", $"{ProtectedTree.Nobody}:{ProtectedTree.Nobody}", tree.Root).Succeeded("chown");

        // The sentinels: after each technique a truncate(2) of a key rule's file (the sensor's, in the kernel's order) and a
        // rewrite of a log rule's file (the watcher's): once both alerts are stored, every alert of the technique is.
        tree.KeyRule.Paths = [.. files.Where(_ => target == Target.Key).Select(f => new FimPath { Path = f }), new FimPath { Path = keySentinel }, new FimPath { Path = keyReady }];
        tree.LogRule.Paths = [.. tree.LogRule.Paths, new FimPath { Path = logSentinel }, new FimPath { Path = logReady }];
        foreach (var rule in tree.Rules)
        {
            await _api.Admin().CreateFimRuleAsync(new FimRuleSpec
            {
                Name = $"{rule.Name}-{name}",
                Severity = rule.Severity,
                Scope = new FimScope { Hostnames = [name + "-*"] },
                Paths = rule.Paths,
                Operations = Changes,
                Effect = effect,
                AllowAppend = rule.AllowAppend,
            });
        }

        using var agent = await SensorAgent.StartAsync(_api, name, new Dictionary<string, string>
        {
            ["Platform__Agent__WatchFiles"] = "true",
            ["Platform__Agent__LingerMilliseconds"] = "20",
        });
        Assert.False(agent.Process.HasExited, agent.Log);
        var round = 0;
        await Sensing.Until(async () =>
        {
            Shell.Sh($"{Shell.Tamper} truncate {keyReady}; echo {++round} > {logReady}", asNobody: false, tree.Scratch);
            var alerts = await Alerts(agent.AgentId);
            return (alerts.Any(a => a.Path == keyReady) && alerts.Any(a => a.Path == logReady)) || agent.Process.HasExited;
        }, "the agent to watch the tree", _api);
        Assert.False(agent.Process.HasExited, agent.Log);

        var uid = asNobody ? ProtectedTree.Nobody : 0;
        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        var wrong = new List<string>();
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < techniques.Count; i++)
        {
            var technique = techniques[i];
            foreach (var entry in Directory.EnumerateFileSystemEntries(tree.Scratch))
                Shell.Run("rm", "-rf", entry);
            File.WriteAllText(Path.Combine(tree.Scratch, "staged"), "staged by the tamperer\n");
            Shell.Run("chown", $"{ProtectedTree.Nobody}:{ProtectedTree.Nobody}", Path.Combine(tree.Scratch, "staged")).Succeeded("chown");
            var (paths, watched) = Targets(technique.Name, target, files[i], directory);
            var before = State(watched);

            var result = Shell.Sh(Command(technique.Command, tree, files[i], directory), asNobody, tree.Scratch);

            Assert.True(result.ExitCode == 0, $"'{technique.Name}' on the {target} should go through: {result.Output}");
            if (!(technique.Name == "chown" && asNobody)) // the owner chowning to itself changes nothing
                Assert.True(before != State(watched), $"'{technique.Name}' did not change {watched}");
            Shell.Sh($"{Shell.Tamper} truncate {keySentinel}; echo {i + 1} > {logSentinel}", asNobody: false, tree.Scratch);
            List<FimAlert> alerts = [];
            await Sensing.Until(async () =>
            {
                alerts = await Alerts(agent.AgentId);
                return alerts.Where(a => a.Path == keySentinel).Sum(a => a.Count) >= i + 1 && alerts.Where(a => a.Path == logSentinel).Sum(a => a.Count) >= i + 1;
            }, $"the sentinels' alerts after '{technique.Name}'", _api);

            // Everything new since the last technique but the sentinels is this technique's (a tool's temporary files
            // beside the file too); exactly one of it on the file.
            var sentinels = new[] { keySentinel, logSentinel, keyReady, logReady };
            var fresh = alerts.Where(a => !sentinels.Contains(a.Path) && a.Count > seen.GetValueOrDefault(a.Id)).ToList();
            var sightings = fresh.Where(a => paths(a.Path)).Sum(a => a.Count - seen.GetValueOrDefault(a.Id));
            var wanted = MakesAlert(technique.Name, target) ? 1 : 0;
            if (sightings != wanted)
                wrong.Add($"'{technique.Name}': {sightings} alerts ({string.Join("; ", fresh.Select(a => $"{a.Action} {a.Path} by {a.Process?.Name}"))})");
            foreach (var alert in fresh)
            {
                var what = $"'{technique.Name}' on the {target}: {alert.Action} {alert.Path} by {alert.Process?.Name} ({alert.Process?.Uid}, pid {alert.Process?.Pid}, {alert.Process?.Executable}, {alert.Process?.CommandLine}; agent {agent.Process.Id}; {alert.Before?.Size}->{alert.After?.Size})";
                Assert.True((expectedEffect, expectedReason) == (alert.Effect, alert.EffectReason), $"{what}: {alert.Effect} {alert.EffectReason} {alert.Description}");
                Assert.True((FimAttribution.Available, (long)uid, asNobody ? "nobody" : "root") == (alert.Attribution, alert.Process!.Uid, alert.Process.User), what);
                Assert.False(alert.Process.Name is null or "Platform.Agent", what);
            }

            foreach (var alert in alerts)
                seen[alert.Id] = alert.Count;
            foreach (var alert in fresh.Where(a => paths(a.Path)))
                expected[alert.Id] = alert.Count;
        }

        Assert.True(wrong.Count == 0, $"on the {target} ({(asNobody ? "nobody" : "root")}), not exactly one alert: {string.Join(", ", wrong)}");
        // Nothing came late: one more pair of sentinels, and the techniques' alerts are as they were.
        Shell.Sh($"{Shell.Tamper} truncate {keySentinel}; echo done > {logSentinel}", asNobody: false, tree.Scratch);
        await Sensing.Until(async () => (await Alerts(agent.AgentId)).Where(a => a.Path == keySentinel).Sum(a => a.Count) > techniques.Count, "the last sentinel", _api);
        var last = await Alerts(agent.AgentId);
        Assert.All(expected, e => Assert.Equal(e.Value, last.Single(a => a.Id == e.Key).Count));
    }

    /// <summary>
    /// Which alert paths are the technique's (its file; the directory and what is in it for a renamed directory; the new
    /// file for a new file), and what is looked at to see that it changed.
    /// </summary>
    internal static (Func<string, bool> Paths, string Watched) Targets(string technique, Target target, string file, string directory) => technique switch
    {
        "rename of the parent directory" => (p => p == directory || p.StartsWith(directory + "/", StringComparison.Ordinal), directory),
        "new file in the directory" => (p => p == Path.Combine(directory, "new.file"), Path.Combine(directory, "new.file")),
        _ => (p => p == file, file),
    };

    /// <summary>
    /// Whether the technique is an alert on this target: not an append to the log (allowAppend), not a new file beside
    /// the key (the key rule covers the key, not its directory).
    /// </summary>
    private static bool MakesAlert(string technique, Target target) => (technique, target) switch
    {
        ("echo >>", Target.Log) => false,
        ("new file in the directory", Target.Key) => false,
        _ => true,
    };

    /// <summary>What a path is now: missing, or its inode, size, mode, owner, links, time and bytes.</summary>
    private static string State(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            return "missing";
        var stat = Shell.Run("stat", "-c", "%i %s %a %u %h %Y", path).Succeeded("stat").Output.Trim();
        return File.Exists(path) ? stat + " " + File.ReadAllText(path) : stat;
    }

    private Task<List<FimAlert>> Alerts(string agentId) => PreventAlertTests.AllAlerts(_api, agentId);
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AlertRuleTechniqueTestsOnSqlite(SensorApiOnSqlite api) : AlertRuleTechniqueTests(api), IClassFixture<SensorApiOnSqlite>;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AlertRuleTechniqueTestsOnPostgres(SensorApiOnPostgres api) : AlertRuleTechniqueTests(api), IClassFixture<SensorApiOnPostgres>;

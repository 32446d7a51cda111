using Microsoft.Extensions.DependencyInjection;
using Platform.Agent;
using Platform.Agent.Fim;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>Baseline integrity (PCI DSS 11.5): protected files compared with their stored SHA-256 baseline, across agent restarts.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FimBaselineTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("baseline-state-").FullName;
    private readonly string _root = Directory.CreateTempSubdirectory("baseline-files-").FullName;

    public void Dispose()
    {
        Directory.Delete(_state, recursive: true);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Changes_made_while_the_agent_was_down_are_found_at_its_next_start_and_alerted_once()
    {
        string File(string name) => Path.Combine(_root, name);
        foreach (var name in new[] { "a.cfg", "b.cfg", "c.cfg", "untouched.cfg" })
            await System.IO.File.WriteAllTextAsync(File(name), "setting=" + name);
        System.IO.File.SetUnixFileMode(File("b.cfg"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Directory.CreateDirectory(File("cache"));
        await System.IO.File.WriteAllTextAsync(File("cache/tmp.dat"), "x");
        var rule = Rule([FimOperation.Write, FimOperation.Delete, FimOperation.Metadata]);
        var readOnly = Rule([FimOperation.Read]);

        var (first, firstAlerts) = Baseline().Compare([rule, readOnly]);
        Assert.Equal(["a.cfg", "b.cfg", "c.cfg", "untouched.cfg"], Files(first).Select(c => Path.GetFileName(c.Path)).Order()); // the cache is excluded, the read-only rule protects nothing
        Assert.All(first, c => Assert.Equal((FimBaselineResult.Match, rule.Id), (c.Result, c.RuleId)));
        Assert.Equal(FimBaselineResult.Match, first.Single(c => c.Path == _root).Result); // the rule's path, as the PCI report lists it
        Assert.Empty(firstAlerts);

        // The agent is down: someone edits a.cfg, tightens b.cfg's mode, deletes c.cfg, adds d.cfg.
        var before = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.IO.File.ReadAllBytes(File("a.cfg"))));
        await System.IO.File.WriteAllTextAsync(File("a.cfg"), "setting=changed");
        System.IO.File.SetUnixFileMode(File("b.cfg"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        System.IO.File.Delete(File("c.cfg"));
        await System.IO.File.WriteAllTextAsync(File("d.cfg"), "new");

        var (checks, alerts) = Baseline().Compare([rule]); // a new agent process: the baseline comes from the disk
        Assert.Equal(
            new[] { ("a.cfg", FimBaselineResult.Changed), ("b.cfg", FimBaselineResult.Changed), ("c.cfg", FimBaselineResult.Missing), ("d.cfg", FimBaselineResult.Match), ("untouched.cfg", FimBaselineResult.Match) },
            Files(checks).Select(c => (Path.GetFileName(c.Path), c.Result)).Order());
        Assert.Equal(FimBaselineResult.Changed, checks.Single(c => c.Path == _root).Result); // the worst of its files
        var byFile = alerts.ToDictionary(a => Path.GetFileName(a.Path));
        Assert.Equal(["a.cfg", "b.cfg", "c.cfg"], byFile.Keys.Order());
        Assert.Equal((FimOperation.Write, before, 13L, 15L), (byFile["a.cfg"].Action, byFile["a.cfg"].Before!.Sha256, byFile["a.cfg"].Before!.Size, byFile["a.cfg"].After!.Size));
        Assert.Equal((FimOperation.Metadata, "0644", "0600"), (byFile["b.cfg"].Action, byFile["b.cfg"].Before!.Mode, byFile["b.cfg"].After!.Mode));
        Assert.Equal((FimOperation.Delete, null), (byFile["c.cfg"].Action, byFile["c.cfg"].After));
        Assert.All(alerts, a => Assert.Equal((FimAttribution.Unavailable, rule.Id), (a.Attribution, a.RuleId)));
        // The reason says what is known: the baseline it was compared with, no live alert, and that the agent (a new process) started after it.
        Assert.All(alerts, a => Assert.Matches(@"^found by comparing the file with its baseline taken \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: no live alert for it since; the agent started .*, after the baseline: the change may have been made while it was not running$", a.AttributionReason));
        Assert.Equal(
            new[] { ("a.cfg", FimBaselineChangeSeen.Comparison, FimOperation.Write), ("b.cfg", FimBaselineChangeSeen.Comparison, FimOperation.Metadata), ("c.cfg", FimBaselineChangeSeen.Comparison, FimOperation.Delete) },
            Files(checks).Where(c => c.Change is not null).Select(c => (Path.GetFileName(c.Path), c.Change!.Seen, c.Change.Action)).Order());

        // Alerted once: the baseline now holds the files as they are.
        var (again, none) = Baseline().Compare([rule]);
        Assert.Empty(none);
        Assert.All(again, c => Assert.Equal(FimBaselineResult.Match, c.Result));
        Assert.Equal(4, Files(again).Count());
    }

    [Fact]
    public void An_unreadable_baseline_file_is_set_aside_and_a_new_baseline_taken()
    {
        System.IO.File.WriteAllText(Path.Combine(_root, "a.cfg"), "x");
        System.IO.File.WriteAllText(Path.Combine(_state, "fim-baseline.json"), "{ not json");
        var (checks, alerts) = Baseline().Compare([Rule([FimOperation.Write])]);
        Assert.Equal(FimBaselineResult.Match, Assert.Single(Files(checks)).Result);
        Assert.Empty(alerts);
        Assert.Single(Directory.GetFiles(_state, "fim-baseline.json.bad-*"));
    }

    [Fact]
    public async Task A_change_alerted_live_moves_the_baseline_on_without_a_second_alert()
    {
        var config = Path.Combine(_root, "app.cfg");
        var other = Path.Combine(_root, "other.cfg");
        await System.IO.File.WriteAllTextAsync(config, "db.host=10.0.3.20\n");
        await System.IO.File.WriteAllTextAsync(other, "x=1\n");
        var rule = Rule([FimOperation.Write, FimOperation.Metadata, FimOperation.Delete, FimOperation.Rename]);
        var baseline = Baseline();
        baseline.Compare([rule]);

        await System.IO.File.WriteAllTextAsync(config, "db.host=203.0.113.9\n");
        var seen = Live(rule, config, FimOperation.Write, DateTimeOffset.UtcNow);
        await System.IO.File.WriteAllTextAsync(other, "x=2\n");
        baseline.Saw([seen, Live(rule, other, FimOperation.Metadata, DateTimeOffset.UtcNow), Live(Rule([FimOperation.Write]), other, FimOperation.Write, DateTimeOffset.UtcNow)]);

        var (checks, alerts) = Baseline().Compare([rule]); // a new process: the live alerts come from the journal

        var change = checks.Single(c => c.Path == config);
        Assert.Equal((FimBaselineResult.Changed, FimBaselineChangeSeen.Live, seen.Time, FimOperation.Write), (change.Result, change.Change!.Seen, change.Change.At, change.Change.Action));
        // other.cfg: its only live alerts are a chmod and another rule's write; neither accounts for its content.
        var alert = Assert.Single(alerts);
        Assert.Equal((other, FimOperation.Write), (alert.Path, alert.Action));
        Assert.Equal(FimBaselineChangeSeen.Comparison, checks.Single(c => c.Path == other).Change!.Seen);
        Assert.Equal(FimBaselineChangeSeen.Comparison, checks.Single(c => c.Path == _root).Change!.Seen); // the rule path: what says least was seen

        var (again, none) = Baseline().Compare([rule]);
        Assert.Empty(none);
        Assert.All(again, c => Assert.Equal((FimBaselineResult.Match, null), (c.Result, c.Change)));
    }

    [Fact]
    public async Task A_change_written_again_after_its_last_live_alert_is_alerted_and_says_so()
    {
        var config = Path.Combine(_root, "app.cfg");
        await System.IO.File.WriteAllTextAsync(config, "v1");
        var rule = Rule([FimOperation.Write]);
        var baseline = Baseline();
        baseline.Compare([rule]);
        var alertedAt = DateTimeOffset.UtcNow.AddMinutes(-10); // the live alert came before this write
        await System.IO.File.WriteAllTextAsync(config, "v3");
        baseline.Saw([Live(rule, config, FimOperation.Write, alertedAt)]);

        var (_, alerts) = baseline.Compare([rule]);

        var alert = Assert.Single(alerts);
        Assert.Contains($"after its last live alert ({alertedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", alert.AttributionReason, StringComparison.Ordinal);
        Assert.DoesNotContain("started", alert.AttributionReason, StringComparison.Ordinal); // the same process compared before: it was running
    }

    [Fact]
    public async Task A_refused_attempt_or_a_read_is_no_live_sighting_of_a_change()
    {
        var config = Path.Combine(_root, "app.cfg");
        await System.IO.File.WriteAllTextAsync(config, "v1");
        var rule = Rule([FimOperation.Write, FimOperation.Read]);
        var baseline = Baseline();
        baseline.Compare([rule]);
        await System.IO.File.WriteAllTextAsync(config, "v2");
        var refused = Live(rule, config, FimOperation.Write, DateTimeOffset.UtcNow);
        refused.Effect = FimAlertEffect.Prevented;
        baseline.Saw([refused, Live(rule, config, FimOperation.Read, DateTimeOffset.UtcNow)]);

        var (_, alerts) = baseline.Compare([rule]);

        Assert.Equal(config, Assert.Single(alerts).Path);
        Assert.EndsWith(": no live alert for it since", Assert.Single(alerts).AttributionReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_append_that_allow_append_permits_is_no_alert_and_any_other_rewrite_is()
    {
        string File(string name) => Path.Combine(_root, name);
        foreach (var name in new[] { "appended.log", "regrown.log", "patched.log", "shrunk.log", "same.log" })
            await System.IO.File.WriteAllTextAsync(File(name), "2026-12-05 login ok\n");
        var rule = Rule([FimOperation.Write, FimOperation.Delete], allowAppend: true);
        var baseline = Baseline();
        baseline.Compare([rule]);

        await System.IO.File.AppendAllTextAsync(File("appended.log"), "2026-12-05 logout\n");
        await System.IO.File.WriteAllTextAsync(File("regrown.log"), ""); // truncated, then grown to the same size with other bytes
        await System.IO.File.WriteAllTextAsync(File("regrown.log"), "2026-12-05 login NO\n");
        await System.IO.File.WriteAllTextAsync(File("patched.log"), "2026-12-05 login OK\n2026-12-05 logout\n"); // appended, and an earlier byte changed
        await System.IO.File.WriteAllTextAsync(File("shrunk.log"), "2026-12-05 login");

        var (checks, alerts) = baseline.Compare([rule]);

        Assert.Equal(["patched.log", "regrown.log", "shrunk.log"], alerts.Select(a => Path.GetFileName(a.Path)).Order());
        Assert.All(alerts, a => Assert.Equal(FimOperation.Write, a.Action));
        var appended = checks.Single(c => c.Path == File("appended.log"));
        Assert.Equal((FimBaselineResult.Match, FimBaselineChangeSeen.PermittedAppend), (appended.Result, appended.Change!.Seen));
        Assert.Null(checks.Single(c => c.Path == File("same.log")).Change);

        // The baseline took the grown file: the next append is judged from there, and a rewrite of the new part is not one.
        await System.IO.File.AppendAllTextAsync(File("appended.log"), "more\n");
        Assert.Empty(baseline.Compare([rule]).Alerts);
        await System.IO.File.WriteAllTextAsync(File("appended.log"), "2026-12-05 login ok\n2026-12-05 logout\nMORE\nand more\n");
        Assert.Equal(File("appended.log"), Assert.Single(baseline.Compare([rule]).Alerts).Path);
    }

    [Fact]
    public async Task A_file_replaced_by_a_symbolic_link_or_given_a_hard_link_is_a_change()
    {
        string File(string name) => Path.Combine(_root, name);
        var outside = Directory.CreateTempSubdirectory("baseline-outside-").FullName;
        try
        {
            await System.IO.File.WriteAllTextAsync(File("key.pem"), "secret");
            await System.IO.File.WriteAllTextAsync(File("linked.cfg"), "same");
            await System.IO.File.WriteAllTextAsync(Path.Combine(outside, "evil"), "secret"); // the same bytes: only the link says it
            await System.IO.File.WriteAllTextAsync(Path.Combine(outside, "copy"), "same");
            var rule = Rule([FimOperation.Write, FimOperation.Metadata]);
            var baseline = Baseline();
            baseline.Compare([rule]);

            System.IO.File.Delete(File("key.pem"));
            System.IO.File.CreateSymbolicLink(File("key.pem"), Path.Combine(outside, "evil"));
            using (var ln = System.Diagnostics.Process.Start("ln", ["-f", Path.Combine(outside, "copy"), File("linked.cfg")]))
            {
                await ln.WaitForExitAsync();
                Assert.Equal(0, ln.ExitCode);
            }

            var (_, alerts) = baseline.Compare([rule]);

            var byFile = alerts.ToDictionary(a => Path.GetFileName(a.Path));
            Assert.Equal(FimOperation.Write, byFile["key.pem"].Action);
            Assert.Contains($"it is now a symbolic link to {Path.Combine(outside, "evil")}", byFile["key.pem"].AttributionReason, StringComparison.Ordinal);
            Assert.Equal(FimOperation.Metadata, byFile["linked.cfg"].Action);
            Assert.Contains("the file now has 2 names (hard links)", byFile["linked.cfg"].AttributionReason, StringComparison.Ordinal);
            Assert.Empty(baseline.Compare([rule]).Alerts); // once
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_baseline_written_by_an_older_agent_is_compared_once_as_before_then_gets_the_new_fields()
    {
        var config = Path.Combine(_root, "app.cfg");
        await System.IO.File.WriteAllTextAsync(config, "v2");
        var rule = Rule([FimOperation.Write]);
        var old = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [rule.Id + "\n" + config] = new { Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("v1"u8)), Size = 2, Mode = "0644" },
        });
        await System.IO.File.WriteAllTextAsync(Path.Combine(_state, "fim-baseline.json"), old);

        var (_, alerts) = Baseline().Compare([rule]);

        Assert.StartsWith("found by comparing the file with its baseline (stored by an earlier agent version: when it was taken is not recorded): no live alert for it since", Assert.Single(alerts).AttributionReason, StringComparison.Ordinal);
        var stored = System.Text.Json.JsonDocument.Parse(await System.IO.File.ReadAllTextAsync(Path.Combine(_state, "fim-baseline.json"))).RootElement.EnumerateObject().Single().Value;
        Assert.True(stored.TryGetProperty("Taken", out _) && stored.TryGetProperty("Inode", out _), stored.GetRawText());
    }

    private static FimAlertReport Live(FimRule rule, string path, FimOperation action, DateTimeOffset time) =>
        FimRuleMatcher.Alert(rule, path, action, time, "inotify does not report the process");

    private IEnumerable<FimBaselineCheck> Files(IEnumerable<FimBaselineCheck> checks) => checks.Where(c => c.Path != _root);

    private FimBaseline Baseline()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddPlatformAgent(new AgentOptions { StateDirectory = _state, Server = new Uri("http://unused") });
        return services.BuildServiceProvider().GetRequiredService<FimBaseline>();
    }

    private FimRule Rule(FimOperation[] operations, bool allowAppend = false) => new()
    {
        AllowAppend = allowAppend,
        Id = "fim_" + Guid.NewGuid().ToString("N"),
        Name = "baseline",
        Enabled = true,
        Severity = FimSeverity.High,
        Scope = new FimScope { Hostnames = ["*"] },
        Paths = [new FimPath { Path = _root, Recursive = true }],
        Exclusions = new FimExclusions { Paths = [_root + "/cache/**"] },
        Operations = operations,
        Effect = FimEffect.Alert,
        Version = 1,
    };
}

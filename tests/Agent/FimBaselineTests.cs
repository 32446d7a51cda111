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
        Assert.All(alerts, a => Assert.Equal((FimAttribution.Unavailable, FimBaseline.FoundByComparison, rule.Id), (a.Attribution, a.AttributionReason, a.RuleId)));

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

    private IEnumerable<FimBaselineCheck> Files(IEnumerable<FimBaselineCheck> checks) => checks.Where(c => c.Path != _root);

    private FimBaseline Baseline()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddPlatformAgent(new AgentOptions { StateDirectory = _state, Server = new Uri("http://unused") });
        return services.BuildServiceProvider().GetRequiredService<FimBaseline>();
    }

    private FimRule Rule(FimOperation[] operations) => new()
    {
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

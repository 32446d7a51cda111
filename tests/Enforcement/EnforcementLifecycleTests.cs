using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Platform.Agent;
using Platform.Agent.Enforcement;
using Platform.Contracts;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Enforcement;

/// <summary>
/// What the agent sets, it records and gives back (real kernel, as root): a rule removed gives the original attributes
/// back (and keeps those the file had of its own), the ledger outlives the agent, an attribute removed is put back, an
/// unlock window lifts a rule's protection until it ends, and files made later are protected as they appear.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EnforcementLifecycleTests : IDisposable
{
    private const InodeFlag NoDump = (InodeFlag)0x40; // FS_NODUMP_FL: an attribute the administrator set, not the agent
    private static readonly Dictionary<string, DateTimeOffset> NoUnlocks = [];
    private readonly ProtectedTree _tree = new();

    public void Dispose() => _tree.Dispose();

    [Fact]
    public void Removing_a_rule_gives_back_the_original_attributes_and_keeps_those_the_file_had()
    {
        Shell.Run("chattr", "+d", _tree.Key).Succeeded("chattr +d");
        var enforcement = _tree.Enforcement();

        var applied = enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);

        // The key, the configuration directory with everything below it, the log directory and its log.
        Assert.Equal(7, applied.Protected);
        Assert.Equal(NoDump | InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Config));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(Path.Combine(_tree.Config, "sub", "extra.cfg")));
        Assert.Equal((InodeFlag.Append, InodeFlag.Append), (ProtectedTree.Flags(_tree.Logs), ProtectedTree.Flags(_tree.Log)));
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.KeyDirectory));
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.Scratch));
        Assert.Null(enforcement.Unsupported(_tree.Key, FimOperation.Write));
        var key = InodeFlags.Stat(_tree.Key, out _)!.Value;
        var inodes = enforcement.ProtectedInodes();
        Assert.Equal(7, inodes.Count);
        Assert.Contains(new ProtectedInode(_tree.Key, key.DeviceMajor, key.DeviceMinor, key.Inode, InodeFlag.Immutable), inodes);
        Assert.Contains(inodes, i => i.Path == _tree.Log && i.Attribute == InodeFlag.Append);

        var again = enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        Assert.Equal((7, 0, 0), (again.Protected, again.Set, again.Restored));

        var removed = enforcement.Apply([_tree.ConfigRule, _tree.LogRule], NoUnlocks, DateTimeOffset.UtcNow);
        Assert.Equal((6, 1), (removed.Protected, removed.Restored));
        Assert.Equal(NoDump, ProtectedTree.Flags(_tree.Key));
        Shell.Sh($"echo rotated > {_tree.Key}", asNobody: true, _tree.Scratch).Succeeded("write the key once no rule protects it");

        var none = enforcement.Apply([], NoUnlocks, DateTimeOffset.UtcNow);
        Assert.Equal((0, 6), (none.Protected, none.Restored));
        Assert.Equal((InodeFlag.None, InodeFlag.None, InodeFlag.None), (ProtectedTree.Flags(_tree.Config), ProtectedTree.Flags(_tree.Logs), ProtectedTree.Flags(_tree.Log)));
    }

    [Fact]
    public void A_rule_disabled_an_alert_rule_and_a_rule_that_only_refuses_reads_protect_nothing()
    {
        _tree.KeyRule.Enabled = false;
        _tree.ConfigRule.Effect = FimEffect.Alert;
        _tree.LogRule.Operations = [FimOperation.Read];

        var report = _tree.Enforcement().Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);

        Assert.Equal(0, report.Protected);
        Assert.Equal((InodeFlag.None, InodeFlag.None, InodeFlag.None), (ProtectedTree.Flags(_tree.Key), ProtectedTree.Flags(_tree.ConfigFile), ProtectedTree.Flags(_tree.Log)));
        Assert.Equal("an inode attribute cannot refuse reads", _tree.Enforcement().Unsupported(_tree.Log, FimOperation.Read));
    }

    [Fact]
    public void Excluded_paths_are_left_alone_and_immutable_wins_where_two_rules_meet()
    {
        _tree.ConfigRule.Exclusions = new FimExclusions { Paths = [Path.Combine(_tree.Config, "sub", "*")] };
        var logsToo = ProtectedTree.Rule("logs-frozen", [FimOperation.Write]);
        logsToo.Paths = [new FimPath { Path = _tree.Log }];

        _tree.Enforcement().Apply([.. _tree.Rules, logsToo], NoUnlocks, DateTimeOffset.UtcNow);

        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(Path.Combine(_tree.Config, "sub", "extra.cfg")));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.ConfigFile));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Log));
    }

    [Fact]
    public void The_agents_own_state_directory_is_never_protected_even_under_a_rule_over_everything()
    {
        var everything = ProtectedTree.Rule("everything", [FimOperation.Write, FimOperation.Create]);
        everything.Paths = [new FimPath { Path = _tree.Root, Recursive = true }];
        var enforcement = _tree.Enforcement();

        enforcement.Apply([everything], NoUnlocks, DateTimeOffset.UtcNow);

        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Root));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key));
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.State));
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(Path.Combine(_tree.State, "enforcement.json")));
        Assert.Equal(0, enforcement.Apply([], NoUnlocks, DateTimeOffset.UtcNow).Protected); // the ledger could still be written
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.Root));
    }

    [Fact]
    public void Turning_allowAppend_off_makes_the_log_immutable_and_on_again_append_only()
    {
        var enforcement = _tree.Enforcement();
        enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        _tree.LogRule.AllowAppend = false;

        enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Log));
        _tree.LogRule.AllowAppend = true;
        enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        Assert.Equal(InodeFlag.Append, ProtectedTree.Flags(_tree.Log));
        Assert.Equal(0, enforcement.Apply([], NoUnlocks, DateTimeOffset.UtcNow).Protected);
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.Log));
    }

    [Fact]
    public void The_ledger_outlives_the_agent_and_uninstall_gives_everything_back()
    {
        _tree.Enforcement().Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        var ledger = Path.Combine(_tree.State, "enforcement.json");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(ledger));

        // Another agent process on the same state directory (after a crash): it knows what the first one set.
        var next = _tree.Enforcement();
        Assert.Equal(7, next.Protected);
        Assert.Equal(7, next.RestoreAll());
        Assert.Equal(0, next.Protected);
        Assert.Equal((InodeFlag.None, InodeFlag.None, InodeFlag.None), (ProtectedTree.Flags(_tree.Key), ProtectedTree.Flags(_tree.Config), ProtectedTree.Flags(_tree.Log)));
        Assert.Equal(0, _tree.Enforcement().Protected);
    }

    [Fact]
    public void An_attribute_removed_by_root_is_put_back_by_reassert_at_once_and_by_verify()
    {
        var enforcement = _tree.Enforcement();
        enforcement.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        var key = InodeFlags.Stat(_tree.Key, out _)!.Value;

        Shell.Run("chattr", "-i", _tree.Key).Succeeded("chattr -i");
        Assert.Empty(enforcement.Reassert(key.DeviceMajor, key.DeviceMinor, key.Inode + 1_000_000).Put); // another inode: nothing
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.Key));
        var back = enforcement.Reassert(key.DeviceMajor, key.DeviceMinor, key.Inode);
        Assert.Equal([_tree.Key], back.Put);
        Assert.Null(back.Failed);
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key));

        Shell.Run("chattr", "-i", _tree.ConfigFile).Succeeded("chattr -i");
        Shell.Run("chattr", "-a", _tree.Log).Succeeded("chattr -a");
        Assert.Equal([_tree.ConfigFile, _tree.Log], enforcement.Verify().Order(StringComparer.Ordinal));
        Assert.Equal((InodeFlag.Immutable, InodeFlag.Append), (ProtectedTree.Flags(_tree.ConfigFile), ProtectedTree.Flags(_tree.Log)));
        Assert.Empty(enforcement.Verify());
    }

    [Fact]
    public async Task An_unlock_window_lets_a_deployment_change_the_file_and_the_lock_returns_when_it_ends()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = Service(time, out _);
        await service.StartAsync(CancellationToken.None);
        var until = time.GetUtcNow().AddMinutes(10);

        var report = service.Enforce(_tree.Rules, new Dictionary<string, DateTimeOffset> { [_tree.ConfigRule.Id] = until });

        Assert.Equal(until, report.NextChange);
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.ConfigFile));
        Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(_tree.Key)); // the other rules stay locked
        Shell.Sh($"echo db.password=rotated > {_tree.ConfigFile}", asNobody: true, _tree.Scratch).Succeeded("the deployment's write");

        time.Advance(TimeSpan.FromMinutes(10));
        await AdvanceUntil(time, () => ProtectedTree.Flags(_tree.ConfigFile) == InodeFlag.Immutable, "the lock to return when the window ended");
        Assert.Equal("db.password=rotated\n", File.ReadAllText(_tree.ConfigFile));
        Assert.NotEqual(0, Shell.Sh($"echo tampered > {_tree.ConfigFile}", asNobody: false, _tree.Scratch).ExitCode);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Files_made_later_under_a_glob_or_an_append_only_directory_are_protected_when_the_paths_are_looked_at_again()
    {
        var certs = Path.Combine(_tree.Root, "certs");
        Directory.CreateDirectory(certs);
        var pem = ProtectedTree.Rule("certs", [FimOperation.Write, FimOperation.Delete]);
        pem.Paths = [new FimPath { Path = certs + "/*.pem" }];
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = Service(time, out var options);
        await service.StartAsync(CancellationToken.None);
        service.Enforce([.. _tree.Rules, pem]);

        File.WriteAllText(Path.Combine(certs, "new.pem"), "cert");
        File.WriteAllText(Path.Combine(certs, "notes.txt"), "not covered");
        File.WriteAllText(Path.Combine(_tree.Logs, "app.log.1"), "rotated\n");
        time.Advance(TimeSpan.FromSeconds(options.RescanSeconds));

        await AdvanceUntil(time, () => ProtectedTree.Flags(Path.Combine(certs, "new.pem")) == InodeFlag.Immutable, "the new certificate to be protected");
        await AdvanceUntil(time, () => ProtectedTree.Flags(Path.Combine(_tree.Logs, "app.log.1")) == InodeFlag.Append, "the new log to be append-only");
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(Path.Combine(certs, "notes.txt")));
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_file_that_appears_is_protected_at_the_rescan_its_event_asks_for_not_the_periodic_one()
    {
        var certs = Path.Combine(_tree.Root, "certs");
        Directory.CreateDirectory(certs);
        var pem = ProtectedTree.Rule("certs", [FimOperation.Write]);
        pem.Paths = [new FimPath { Path = certs + "/*.pem" }];
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = Service(time, out var options);
        await service.StartAsync(CancellationToken.None);
        service.Enforce([pem]);
        var created = Path.Combine(certs, "issued.pem");
        File.WriteAllText(created, "cert");

        service.Rescan();
        // The clock moves a second at a time (the rescan's gap), at most once every 100 ms of real time (the service's
        // loop may not be waiting on the clock yet when it moves), and never as far as the periodic rescan: only the
        // rescan the event asked for can protect the file.
        var advanced = TimeSpan.Zero;
        var lastMove = System.Diagnostics.Stopwatch.StartNew();
        await Until(() =>
        {
            if (ProtectedTree.Flags(created) == InodeFlag.Immutable)
                return true;
            if (advanced + EnforcementService.RescanGap < TimeSpan.FromSeconds(options.RescanSeconds) && lastMove.ElapsedMilliseconds >= 100)
            {
                time.Advance(EnforcementService.RescanGap);
                advanced += EnforcementService.RescanGap;
                lastMove.Restart();
            }

            return false;
        }, "the new certificate to be protected");
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task The_service_puts_back_an_attribute_removed_within_its_verify_period()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var service = Service(time, out var options);
        await service.StartAsync(CancellationToken.None);
        service.Enforce(_tree.Rules);
        Shell.Run("chattr", "-i", _tree.Key).Succeeded("chattr -i");

        await AdvanceUntil(time, () => ProtectedTree.Flags(_tree.Key) == InodeFlag.Immutable, "the attribute to be back");
        await service.StopAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData("auto", EnforcementMode.Auto)]
    [InlineData("inode-attributes", EnforcementMode.InodeAttributes)]
    [InlineData("InodeAttributes", EnforcementMode.InodeAttributes)]
    [InlineData("fanotify", EnforcementMode.Fanotify)]
    [InlineData("none", EnforcementMode.None)]
    public void The_mode_is_read_as_documented(string value, EnforcementMode mode)
    {
        Assert.True(EnforcementOptions.TryParseMode(value, out var parsed));
        Assert.Equal(mode, parsed);
    }

    [Theory]
    [InlineData("lsm")]
    [InlineData("7")]
    [InlineData("")]
    public void Other_modes_are_refused(string value) => Assert.False(EnforcementOptions.TryParseMode(value, out _));

    [Fact]
    public void As_root_auto_chooses_the_inode_attributes_and_none_gives_back_what_an_earlier_run_set()
    {
        var options = new AgentOptions { StateDirectory = _tree.State };
        Assert.Equal(AgentPreventionMechanism.InodeAttributes, EnforcementChoice.Choose(options, NullLogger.Instance).Mechanism);
        _tree.Enforcement().Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);

        options.Enforcement.Mode = EnforcementMode.None;
        var none = EnforcementChoice.Choose(options, NullLogger.Instance);
        var report = none.Apply(_tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);

        Assert.Equal((AgentPreventionMechanism.None, 7), (none.Mechanism, report.Restored));
        Assert.Equal("prevention is turned off (Platform:Agent:Enforcement:Mode=none)", none.Unsupported(_tree.Key, FimOperation.Write));
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(_tree.Key));
    }

    [Fact]
    public void Without_cap_linux_immutable_the_agent_started_with_mode_inode_attributes_stops_with_exit_code_3()
    {
        var start = new ProcessStartInfo("capsh", ["--drop=cap_linux_immutable", "--", "-c", "exec \"$0\" \"$@\"", AgentExecutable]) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment["Platform__Agent__Server"] = "http://127.0.0.1:9";
        start.Environment["Platform__Agent__StateDirectory"] = _tree.State;
        start.Environment["Platform__Agent__Enforcement__Mode"] = "inode-attributes";
        using var agent = Process.Start(start)!;
        var error = agent.StandardError.ReadToEnd();
        agent.WaitForExit();

        Assert.Equal(3, agent.ExitCode);
        Assert.Contains("needs CAP_LINUX_IMMUTABLE", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mode_that_does_not_exist_stops_the_agent_with_exit_code_2()
    {
        var start = new ProcessStartInfo(AgentExecutable) { RedirectStandardError = true, RedirectStandardOutput = true };
        start.Environment["Platform__Agent__Server"] = "http://127.0.0.1:9";
        start.Environment["Platform__Agent__StateDirectory"] = _tree.State;
        start.Environment["Platform__Agent__Enforcement__Mode"] = "lsm";
        using var agent = Process.Start(start)!;
        var error = agent.StandardError.ReadToEnd();
        agent.WaitForExit();

        Assert.Equal(2, agent.ExitCode);
        Assert.Contains("Platform:Agent:Enforcement:Mode must be auto, inode-attributes, fanotify or none; it is 'lsm'.", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Moves the service's clock on a second at a time until <paramref name="condition"/> holds: the service may not have
    /// started its next wait when the clock is first moved, so one move alone could pass it by.
    /// </summary>
    private static Task AdvanceUntil(FakeTimeProvider time, Func<bool> condition, string what) => Until(() =>
    {
        if (condition())
            return true;
        time.Advance(TimeSpan.FromSeconds(1));
        return false;
    }, what);

    private EnforcementService Service(TimeProvider time, out EnforcementOptions options)
    {
        options = new EnforcementOptions { VerifySeconds = 1, RescanSeconds = 30 };
        var agent = new AgentOptions { StateDirectory = _tree.State, Enforcement = options };
        return new EnforcementService(_tree.Enforcement(options), agent, time, NullLogger<EnforcementService>.Instance);
    }
}

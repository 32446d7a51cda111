using Platform.Agent.Enforcement;
using Platform.Agent.Fim;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The <c>attribute-removed</c> alert says whether the agent put the attribute back, as <see cref="IEnforcement.Reassert"/>
/// found: where it could not (the inode is not one the enforcement keeps now, a filesystem without the attribute), the
/// reason says so and why, never that it is back. Real files and the real kernel (as root), the policy service's steps:
/// the reassertion first, then the alert.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttributeNotRestoredTests
{
    private const uint Extents = 0x80000;
    private static readonly Dictionary<string, DateTimeOffset> NoUnlocks = [];

    /// <summary>chattr -i on the tree's key as the sensor reports it, with what the enforcement did about it.</summary>
    private static (FimAlertReport Alert, Reassertion Reassertion) ChattrMinusI(ProtectedTree tree, IEnforcement enforcement)
    {
        var stat = InodeFlags.Stat(tree.Key, out _)!.Value;
        var reassertion = enforcement.Reassert(stat.DeviceMajor, stat.DeviceMinor, stat.Inode);
        var alerts = new TamperAlerts(new Platform.Agent.Collectors.UserNames(TimeProvider.System));
        alerts.Use(tree.Rules);
        var alert = Assert.Single(alerts.Convert(new TamperAttempt
        {
            Time = DateTimeOffset.UtcNow, Pid = 4242, ThreadId = 4242, Ppid = 1, Uid = 0, Comm = "chattr",
            Syscall = TamperSyscall.SetFlags, Operation = TamperOperation.Attributes, Errno = 0,
            Target = InodeKey.Of(tree.Key)!.Value, Match = TamperTarget.Inode, ProtectedPath = tree.Key, Path = tree.Key, NewInodeFlags = Extents,
        }, _ => false, notRestored: reassertion.Failed));
        Assert.Equal((FimAlertEffect.AttributeRemoved, tree.KeyRule.Id), (alert.Effect, alert.RuleId));
        return (alert, reassertion);
    }

    [Fact]
    public void An_inode_the_enforcement_no_longer_keeps_is_reported_as_not_put_back()
    {
        using var tree = new ProtectedTree();
        var enforcement = tree.Enforcement();
        enforcement.Apply(tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);
        // The enforcement has moved on (the key's rule gone from its set) while the policy service still judges by it.
        enforcement.Apply([tree.ConfigRule, tree.LogRule], NoUnlocks, DateTimeOffset.UtcNow);

        var (alert, reassertion) = ChattrMinusI(tree, enforcement);

        Assert.Empty(reassertion.Put);
        Assert.Equal(InodeFlag.None, ProtectedTree.Flags(tree.Key));
        Assert.Equal("the immutable attribute was removed (FS_IOC_SETFLAGS); the agent could NOT put it back (the agent does not protect this inode now)", alert.EffectReason);
    }

    [Fact]
    public void On_a_filesystem_without_the_attribute_the_reason_names_it()
    {
        using var tree = ProtectedTree.OnRamfs();
        var enforcement = tree.Enforcement();
        Assert.NotEmpty(enforcement.Apply(tree.Rules, NoUnlocks, DateTimeOffset.UtcNow).Unsupported);

        var (alert, reassertion) = ChattrMinusI(tree, enforcement);

        Assert.Equal("ramfs has no immutable attribute", reassertion.Failed);
        Assert.Equal("the immutable attribute was removed (FS_IOC_SETFLAGS); the agent could NOT put it back (ramfs has no immutable attribute)", alert.EffectReason);
    }

    [Fact]
    public void With_prevention_turned_off_the_reason_says_why()
    {
        using var tree = new ProtectedTree();
        var enforcement = new NoEnforcement(AgentPreventionMechanism.None, "prevention is turned off (Enforcement:Mode=none)");
        enforcement.Apply(tree.Rules, NoUnlocks, DateTimeOffset.UtcNow);

        var (alert, _) = ChattrMinusI(tree, enforcement);

        Assert.Equal("the immutable attribute was removed (FS_IOC_SETFLAGS); the agent could NOT put it back (prevention is turned off (Enforcement:Mode=none))", alert.EffectReason);
    }
}

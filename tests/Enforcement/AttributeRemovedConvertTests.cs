using Platform.Agent.Fim;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Enforcement;

/// <summary>
/// Which inode-flag changes the agent reports as <c>attribute-removed</c>: those that took away the attribute the rules
/// have it keep on the path (immutable; append-only where every rule allows appends), under every prevent rule covering
/// the path whatever operations it lists, and no others (<c>chattr +d</c>, <c>chattr -a</c> on an immutable key).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttributeRemovedConvertTests
{
    private static readonly FimRule Key = ProtectedTree.Rule("key", [FimOperation.Write]);
    private static readonly FimRule Log = ProtectedTree.Rule("log", [FimOperation.Write], allowAppend: true);

    static AttributeRemovedConvertTests()
    {
        Key.Paths = [new FimPath { Path = "/srv/ssl/secret.key" }];
        Log.Paths = [new FimPath { Path = "/srv/logs", Recursive = true }];
    }

    private static IReadOnlyList<FimAlertReport> SetFlags(string path, uint flags, int errno = 0)
    {
        var alerts = new TamperAlerts(new Platform.Agent.Collectors.UserNames(TimeProvider.System));
        alerts.Use([Key, Log]);
        return alerts.Convert(new TamperAttempt
        {
            Time = DateTimeOffset.UtcNow, Pid = 4242, ThreadId = 4242, Ppid = 1, Uid = 0, Comm = "chattr",
            Syscall = TamperSyscall.SetFlags, Operation = TamperOperation.Attributes, Errno = errno,
            Target = new InodeKey(2049, 77), Match = TamperTarget.Inode, ProtectedPath = path, Path = path, NewInodeFlags = flags,
        }, _ => false);
    }

    private const uint Extents = 0x80000, NoDump = 0x40;

    [Fact]
    public void Chattr_minus_i_on_a_key_is_the_immutable_attribute_removed_under_a_rule_that_lists_only_write()
    {
        var alert = Assert.Single(SetFlags("/srv/ssl/secret.key", Extents));

        Assert.Equal((FimAlertEffect.AttributeRemoved, FimOperation.Metadata, Key.Id), (alert.Effect, alert.Action, alert.RuleId));
        Assert.Equal("the immutable attribute was removed (FS_IOC_SETFLAGS); the agent put it back", alert.EffectReason);
    }

    [Fact]
    public void Chattr_minus_a_on_an_append_only_log_is_the_append_only_attribute_removed()
    {
        var alert = Assert.Single(SetFlags("/srv/logs/app.log", Extents));

        Assert.Equal((FimAlertEffect.AttributeRemoved, Log.Id), (alert.Effect, alert.RuleId));
        Assert.Equal("the append-only attribute was removed (FS_IOC_SETFLAGS); the agent put it back", alert.EffectReason);
    }

    [Theory]
    [InlineData("/srv/ssl/secret.key", Extents | TamperAttempt.ImmutableFlag | NoDump)] // chattr +d on the immutable key
    [InlineData("/srv/ssl/secret.key", Extents | TamperAttempt.ImmutableFlag)] // chattr -a on the immutable key
    [InlineData("/srv/logs/app.log", Extents | TamperAttempt.AppendFlag)] // chattr -i on the append-only log
    public void Flags_set_that_keep_the_attribute_are_no_removal(string path, uint flags) => Assert.Empty(SetFlags(path, flags));

    [Fact]
    public void A_refused_chattr_is_still_a_prevented_attempt() =>
        Assert.Equal(FimAlertEffect.Prevented, Assert.Single(SetFlags("/srv/ssl/secret.key", Extents, TamperAttempt.EPerm)).Effect);
}

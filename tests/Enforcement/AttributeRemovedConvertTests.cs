using Platform.Agent.Fim;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Enforcement;

/// <summary>
/// Which inode-flag changes the agent reports as <c>attribute-removed</c>: those that took away the attribute the rules
/// have it keep on the path (immutable; append-only where every rule allows appends), under every prevent rule covering
/// the path whatever operations it lists, and no others (<c>chattr +d</c>, <c>chattr -a</c> on an immutable key). The
/// files are real (a temporary directory): the agent drops a change matched by an inode its path no longer has.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AttributeRemovedConvertTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("attribute-removed-").FullName;
    private readonly FimRule _key = ProtectedTree.Rule("key", [FimOperation.Write]);
    private readonly FimRule _log = ProtectedTree.Rule("log", [FimOperation.Write], allowAppend: true);

    public AttributeRemovedConvertTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "logs"));
        File.WriteAllText(KeyPath, "key\n");
        File.WriteAllText(LogPath, "log\n");
        _key.Paths = [new FimPath { Path = KeyPath }];
        _log.Paths = [new FimPath { Path = Path.Combine(_root, "logs"), Recursive = true }];
    }

    private string KeyPath => Path.Combine(_root, "secret.key");

    private string LogPath => Path.Combine(_root, "logs", "app.log");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private IReadOnlyList<FimAlertReport> SetFlags(string path, uint flags, int errno = 0)
    {
        var alerts = new TamperAlerts(new Platform.Agent.Collectors.UserNames(TimeProvider.System));
        alerts.Use([_key, _log]);
        return alerts.Convert(new TamperAttempt
        {
            Time = DateTimeOffset.UtcNow, Pid = 4242, ThreadId = 4242, Ppid = 1, Uid = 0, Comm = "chattr",
            Syscall = TamperSyscall.SetFlags, Operation = TamperOperation.Attributes, Errno = errno,
            Target = InodeKey.Of(path)!.Value, Match = TamperTarget.Inode, ProtectedPath = path, Path = path, NewInodeFlags = flags,
        }, _ => false);
    }

    private const uint Extents = 0x80000, NoDump = 0x40;

    [Fact]
    public void Chattr_minus_i_on_a_key_is_the_immutable_attribute_removed_under_a_rule_that_lists_only_write()
    {
        var alert = Assert.Single(SetFlags(KeyPath, Extents));

        Assert.Equal((FimAlertEffect.AttributeRemoved, FimOperation.Metadata, _key.Id), (alert.Effect, alert.Action, alert.RuleId));
        Assert.Equal("the immutable attribute was removed (FS_IOC_SETFLAGS); the agent put it back", alert.EffectReason);
    }

    [Fact]
    public void Chattr_minus_a_on_an_append_only_log_is_the_append_only_attribute_removed()
    {
        var alert = Assert.Single(SetFlags(LogPath, Extents));

        Assert.Equal((FimAlertEffect.AttributeRemoved, _log.Id), (alert.Effect, alert.RuleId));
        Assert.Equal("the append-only attribute was removed (FS_IOC_SETFLAGS); the agent put it back", alert.EffectReason);
    }

    [Theory]
    [InlineData(true, Extents | TamperAttempt.ImmutableFlag | NoDump)] // chattr +d on the immutable key
    [InlineData(true, Extents | TamperAttempt.ImmutableFlag)] // chattr -a on the immutable key
    [InlineData(false, Extents | TamperAttempt.AppendFlag)] // chattr -i on the append-only log
    public void Flags_set_that_keep_the_attribute_are_no_removal(bool key, uint flags) => Assert.Empty(SetFlags(key ? KeyPath : LogPath, flags));

    [Fact]
    public void A_refused_chattr_is_still_a_prevented_attempt() =>
        Assert.Equal(FimAlertEffect.Prevented, Assert.Single(SetFlags(KeyPath, Extents, TamperAttempt.EPerm)).Effect);
}

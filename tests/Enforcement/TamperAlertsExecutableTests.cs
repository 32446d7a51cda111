using Platform.Agent.Fim;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The kernel sensor's attempts read the process's executable (<c>/proc/&lt;pid&gt;/exe</c>) only where a rule covering
/// the path has process exclusions: there it decides, elsewhere it would be a read for nothing on every attempt. The
/// alerts are the same either way (their process comes from the sensor). Real files: the agent drops a change matched
/// by an inode its path no longer has.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TamperAlertsExecutableTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tamper-executable-").FullName;
    private readonly FimRule _plain = ProtectedTree.Rule("plain", [FimOperation.Write], effect: FimEffect.Alert);
    private readonly FimRule _excluding = ProtectedTree.Rule("excluding", [FimOperation.Write], effect: FimEffect.Alert);
    private int _reads;

    public TamperAlertsExecutableTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "plain"));
        Directory.CreateDirectory(Path.Combine(_root, "excluding"));
        File.WriteAllText(PlainPath, "a\n");
        File.WriteAllText(ExcludingPath, "b\n");
        _plain.Paths = [new FimPath { Path = Path.Combine(_root, "plain"), Recursive = true }];
        _excluding.Paths = [new FimPath { Path = Path.Combine(_root, "excluding"), Recursive = true }];
        _excluding.Exclusions = new FimExclusions { Processes = ["/usr/bin/deploy-tool"] };
    }

    private string PlainPath => Path.Combine(_root, "plain", "app.conf");

    private string ExcludingPath => Path.Combine(_root, "excluding", "app.conf");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private IReadOnlyList<FimAlertReport> Write(string path, string executable)
    {
        var alerts = new TamperAlerts(new Platform.Agent.Collectors.UserNames(TimeProvider.System), executable: _ =>
        {
            _reads++;
            return executable;
        });
        alerts.Use([_plain, _excluding]);
        return alerts.Convert(new TamperAttempt
        {
            Time = DateTimeOffset.UtcNow, Pid = 4242, ThreadId = 4242, Ppid = 1, Uid = 0, Comm = "tee",
            Syscall = TamperSyscall.Open, Operation = TamperOperation.Write, Errno = 0,
            Target = InodeKey.Of(path)!.Value, Match = TamperTarget.Inode, ProtectedPath = path, Path = path,
        }, _ => false);
    }

    [Fact]
    public void Without_exclusions_on_the_path_the_executable_is_not_read_and_the_alert_names_the_sensor_s_process()
    {
        var alert = Assert.Single(Write(PlainPath, "/usr/bin/tee"));

        Assert.Equal(0, _reads);
        Assert.Equal((_plain.Id, FimAlertEffect.Alerted, 4242, "tee"), (alert.RuleId, alert.Effect, alert.Process!.Pid, alert.Process.Name));
    }

    [Fact]
    public void Where_a_rule_has_exclusions_the_executable_is_read_once_and_decides()
    {
        Assert.Empty(Write(ExcludingPath, "/usr/bin/deploy-tool"));
        Assert.Equal(1, _reads);

        Assert.Equal(_excluding.Id, Assert.Single(Write(ExcludingPath, "/usr/bin/tee")).RuleId);
        Assert.Equal(2, _reads);
    }
}

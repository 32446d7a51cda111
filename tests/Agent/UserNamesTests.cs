using Microsoft.Extensions.Time.Testing;
using Platform.Agent.Collectors;

namespace Platform.Tests.Agent;

/// <summary>The shared uid to user name table: a new user is named within a second, a nameless uid does not make the agent read /etc/passwd on every event.</summary>
public sealed class UserNamesTests : IDisposable
{
    private readonly string _passwd = Path.Combine(Path.GetTempPath(), "passwd-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero));

    public UserNamesTests() => File.WriteAllText(_passwd, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");

    [Fact]
    public void Names_come_from_the_passwd_file()
    {
        var users = new UserNames(_time, _passwd);
        Assert.Equal(("root", "nobody", (string?)null, (string?)null), (users.Name(0), users.Name(65534L), users.Name(1000), users.Name((long?)null)));
    }

    [Fact]
    public void An_unknown_uid_reads_the_file_again_at_most_once_a_second()
    {
        var users = new UserNames(_time, _passwd);
        Assert.Null(users.Name(1000));
        File.AppendAllText(_passwd, "deploy:x:1000:1000::/home/deploy:/bin/sh\n");
        _time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Null(users.Name(1000));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("deploy", users.Name(1000));
    }

    [Fact]
    public void A_known_uid_sees_a_rename_after_30_seconds()
    {
        var users = new UserNames(_time, _passwd);
        Assert.Equal("root", users.Name(0));
        File.WriteAllText(_passwd, "toor:x:0:0:root:/root:/bin/sh\n");
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal("root", users.Name(0));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("toor", users.Name(0));
    }

    public void Dispose() => File.Delete(_passwd);
}

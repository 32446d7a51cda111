namespace Platform.Agent.Collectors;

/// <summary>
/// User names by uid (from /etc/passwd), shared by everything that names a process's user. The table is read again
/// every 30 s, and sooner (at most once a second) when a uid it does not know appears: a user added since is named
/// within a second, while a process of a uid that has no name cannot make the agent read the file on every event.
/// Thread-safe: the table is replaced whole.
/// </summary>
public sealed class UserNames(TimeProvider time, string passwd = "/etc/passwd")
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UnknownRefresh = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private Dictionary<long, string> _users = [];
    private DateTimeOffset _read = DateTimeOffset.MinValue;

    /// <summary>The user's name, or null when /etc/passwd has none for <paramref name="uid"/>.</summary>
    public string? Name(long uid)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            var age = now - _read;
            if (age >= Refresh || (age >= UnknownRefresh && !_users.ContainsKey(uid)))
                (_users, _read) = (OperatingSystem.IsLinux() ? ProcFs.Users(passwd) : [], now);
            return _users.GetValueOrDefault(uid);
        }
    }

    /// <inheritdoc cref="Name(long)"/>
    public string? Name(long? uid) => uid is { } known ? Name(known) : null;
}

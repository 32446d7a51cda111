namespace Platform.Agent.Fim;

/// <summary>
/// Who opened watched files lately, read from /proc while the opener waited for fanotify's permission: its reads and
/// writes come after, and by the time they are handled it may be gone. One table for all of an agent's FIM watchers
/// (<see cref="FimPolicyService"/> passes it to each): a policy change starts a new watcher before it stops the old
/// one, and a write whose open only the old one answered (the file was marked by the new one in between) reaches the
/// new one alone, which would otherwise find neither the opener nor, once it exited, its /proc entry.
/// Thread-safe.
/// </summary>
public sealed class FanotifyOpeners
{
    private const int Capacity = 4096;
    private const long StaleMilliseconds = 60_000;

    private readonly Dictionary<int, (Collectors.ProcessInfo Process, long At)> _openers = [];

    public void Remember(Collectors.ProcessInfo process)
    {
        var now = Environment.TickCount64;
        lock (_openers)
        {
            _openers[process.Pid] = (process, now);
            if (_openers.Count > Capacity)
            {
                foreach (var stale in _openers.Where(o => now - o.Value.At > StaleMilliseconds).Select(o => o.Key).ToList())
                    _openers.Remove(stale);
            }
        }
    }

    /// <summary>The process that last opened a watched file with this pid; null when none did lately.</summary>
    public Collectors.ProcessInfo? Find(int pid)
    {
        lock (_openers)
            return _openers.TryGetValue(pid, out var opener) ? opener.Process : null;
    }
}

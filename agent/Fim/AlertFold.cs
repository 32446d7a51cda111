namespace Platform.Agent.Fim;

/// <summary>
/// One alert per attempt. A tool makes several system calls on the file it tampers with (<c>touch -d</c>: an open,
/// then <c>utimensat</c>; <c>install -m</c>: an unlink, then a create; an editor: a rename, then a create), each of
/// which the kernel sensor reports, and the file watcher may see the same change again (a write after the sensor's
/// unlink). The alerts of one process (pid) on one path under one rule with one effect, within <see cref="Window"/>
/// of the first (by the alerts' times, either side: the watcher's may come before the sensor's), are one attempt: the first is sent at once (no alert waits), the others are
/// folded into it and not sent. Reads fold only with reads, so a process that reads a file and then changes it makes
/// two alerts. Alerts without a process (inotify) pass through: nothing says they are the same attempt.
/// <para>
/// Bounded: at most <see cref="Capacity"/> attempts are remembered; when a burst of attempts on many paths fills it,
/// those whose window is over go first, and if that is not enough the memory is cleared (counted in
/// <see cref="Forgotten"/>): a later syscall of a forgotten attempt then makes an alert of its own, never none.
/// </para>
/// Thread-safe: the sensor's thread and the file watcher's threads both call it.
/// </summary>
public sealed class AlertFold
{
    /// <summary>How long after an attempt's first alert its other system calls still fold into it.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    public const int Capacity = 4096;

    private readonly record struct Key(int Pid, string RuleId, string Path, FimAlertEffect Effect, bool Read);

    private readonly Lock _lock = new();
    private readonly Dictionary<Key, DateTimeOffset> _first = [];
    private DateTimeOffset _newest = DateTimeOffset.MinValue;
    private long _folded, _forgotten;

    /// <summary>Alerts folded into an attempt's first alert (not sent) since the agent started.</summary>
    public long Folded => Interlocked.Read(ref _folded);

    /// <summary>Attempts forgotten because <see cref="Capacity"/> was reached (their later system calls make alerts of their own).</summary>
    public long Forgotten => Interlocked.Read(ref _forgotten);

    /// <summary>The alerts to send: those that start an attempt, or that no attempt can hold (no process).</summary>
    public IReadOnlyList<FimAlertReport> Admit(IReadOnlyList<FimAlertReport> alerts)
    {
        List<FimAlertReport>? sent = null;
        lock (_lock)
        {
            foreach (var alert in alerts)
            {
                if (alert.Process?.Pid is not { } pid)
                {
                    (sent ??= []).Add(alert);
                    continue;
                }

                var key = new Key(pid, alert.RuleId, alert.Path, alert.Effect, alert.Action == FimOperation.Read);
                if (_first.TryGetValue(key, out var first) && (alert.Time - first).Duration() < Window)
                {
                    _folded++;
                    continue;
                }

                if (alert.Time > _newest)
                    _newest = alert.Time;
                if (!_first.ContainsKey(key) && _first.Count >= Capacity)
                    MakeRoom();
                _first[key] = alert.Time;
                (sent ??= []).Add(alert);
            }
        }

        return sent ?? [];
    }

    private void MakeRoom()
    {
        foreach (var over in _first.Where(e => _newest - e.Value >= Window).Select(e => e.Key).ToList())
            _first.Remove(over);
        if (_first.Count < Capacity)
            return;
        _forgotten += _first.Count;
        _first.Clear();
    }
}

namespace Platform.Agent.Fim;

/// <summary>
/// Files the agent itself is reading (to hash them for the baseline or an append check). inotify does not say who
/// read a file, so without this the agent would alert on its own reads of files that rules watch for reads. A
/// read of a marked file reported within <see cref="Window"/> of the mark is taken for the agent's own; a read by
/// someone else in that same window is missed (fanotify, which names the reader, has no such window).
/// </summary>
public sealed class OwnReads(TimeProvider time)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, DateTimeOffset> _until = new(StringComparer.Ordinal);

    /// <summary>Marks a file the agent is about to read.</summary>
    public void Mark(string path)
    {
        var until = time.GetUtcNow() + Window;
        lock (_until)
        {
            _until[path] = until;
            if (_until.Count > 10_000)
            {
                var now = time.GetUtcNow();
                foreach (var stale in _until.Where(p => p.Value < now).Select(p => p.Key).ToList())
                    _until.Remove(stale);
            }
        }
    }

    /// <summary>True when a read of <paramref name="path"/> reported now is the agent's own.</summary>
    public bool IsOwn(string path)
    {
        lock (_until)
            return _until.TryGetValue(path, out var until) && time.GetUtcNow() <= until;
    }
}

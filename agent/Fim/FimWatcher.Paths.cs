namespace Platform.Agent.Fim;

/// <summary>The directories the watcher watches, and what is at each rule's paths now.</summary>
public sealed partial class FimWatcher
{
    /// <summary>
    /// A directory made (or moved) under a recursive rule, or one a rule names that was not there before: watched, and
    /// what is already in it reported as created.
    /// </summary>
    private void WatchNewDirectory(string path, DateTimeOffset seenAt, List<FimAlertReport> alerts, HashSet<(string, FimOperation, string)> seen)
    {
        if (!_rules.Paths.Any(p => (p.Recursive && (path.StartsWith(p.Root + "/", StringComparison.Ordinal) || p.Root == "/")) || p.Covers(path)))
            return;
        Watch(path, recursive: true);
        // Entries made before the watch was in place would otherwise go unseen.
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            foreach (var rule in _rules.Matching(entry, FimOperation.Create))
            {
                if (!FromSensor(rule, entry, FimOperation.Create) && seen.Add((entry, FimOperation.Create, rule.Id)))
                    alerts.Add(Report(rule, entry, FimOperation.Create, seenAt));
            }
        }
    }

    /// <summary>Entries a glob's existence check looks at, at most (every heartbeat asks): beyond, the glob is taken as matching nothing.</summary>
    public const int MaxEntriesLookedAt = 10_000;

    /// <summary>
    /// Each path of each rule watched, in rule and path order (at most <paramref name="max"/>), and what is there now:
    /// <c>watched</c> when it exists and the directory it is watched through is watched, <c>unwatchable</c> when it
    /// exists but that directory could not be watched, <c>missing</c> when nothing is there (a glob: nothing matches).
    /// The PCI report's evidence that log files are watched where they really are.
    /// </summary>
    public List<AgentFimPathStatus> PathStates(int max)
    {
        HashSet<string> watched;
        lock (_directories)
            watched = _directories.Values.ToHashSet(StringComparer.Ordinal);
        return _rules.Paths
            .OrderBy(p => p.Rule.Id, StringComparer.Ordinal).ThenBy(p => p.Spec, StringComparer.Ordinal)
            .Take(max)
            .Select(p => new AgentFimPathStatus
            {
                RuleId = p.Rule.Id,
                RuleVersion = p.Rule.Version,
                Path = p.Spec,
                State = !Exists(p) ? AgentFimPathState.Missing : watched.Contains(p.Root) ? AgentFimPathState.Watched : AgentFimPathState.Unwatchable,
            })
            .ToList();
    }

    private static bool Exists(FimRuleMatcher.WatchedPath path)
    {
        if (path.Spec.IndexOfAny(['*', '?', '[']) < 0)
            return File.Exists(path.Spec) || Directory.Exists(path.Spec);
        return Directory.Exists(path.Root)
            && Directory.EnumerateFileSystemEntries(path.Root, "*", new EnumerationOptions { RecurseSubdirectories = path.Recursive, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Take(MaxEntriesLookedAt)
                .Any(path.Covers);
    }

    private void Watch(string root, bool recursive)
    {
        Add(root);
        if (!recursive || !Directory.Exists(root))
            return;
        foreach (var directory in Directory.EnumerateDirectories(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            Add(directory);
    }

    private void Add(string directory)
    {
        var (watch, error) = _inotify.Add(directory, Events);
        if (watch < 0)
        {
            Interlocked.Increment(ref _unwatchable);
            _log.LogWarning("Cannot watch {Directory} (errno {Error})", directory, error);
            return;
        }

        lock (_directories)
            _directories[watch] = directory;
        if (_fanotify?.Mark(directory, FanotifyEvents) is { } refused and not 0)
            _log.LogWarning("Cannot mark {Directory} for fanotify (errno {Error}): its reads and writes are not reported", directory, refused);
    }
}

namespace Platform.Agent.Fim;

/// <summary>
/// The enabled FIM rules, compiled: which directories hold what they protect, and which rules an action on a path
/// falls under (the operation is one the rule watches, a path of the rule covers it, no exclusion of the rule
/// matches it). Shared by the inotify watcher and the simulator, so both judge a path the same way. Globs are
/// the api's (<see cref="FimGlob"/>: linear-time matching); a rule with a glob that does not compile (one the api
/// did not check, from an older server) is left out whole and listed in <see cref="Skipped"/>, the others are used.
/// </summary>
public sealed class FimRuleMatcher
{
    public FimRuleMatcher(IReadOnlyList<FimRule> rules)
    {
        var paths = new List<WatchedPath>();
        var skipped = new List<(FimRule, string)>();
        foreach (var rule in rules.Where(r => r.Enabled))
        {
            if (Problem(rule) is { } problem)
                skipped.Add((rule, problem));
            else
                paths.AddRange(rule.Paths.Select(p => Compile(rule, p) with { Spec = p.Path }));
        }

        Paths = paths;
        Skipped = skipped;
        _excluded = rules.Where(r => r.Enabled && r.Exclusions?.Processes is { Count: > 0 })
            .DistinctBy(r => r.Id)
            .ToDictionary(r => r.Id, r => new ExcludedExecutables(r.Exclusions?.Processes ?? []), StringComparer.Ordinal);
    }

    private readonly Dictionary<string, ExcludedExecutables> _excluded;

    /// <summary>A rule's path, compiled: the directory to watch (and below it, when recursive) and which paths it covers.</summary>
    public sealed record WatchedPath(FimRule Rule, string Root, bool Recursive, Func<string, bool> Covers, IReadOnlyList<FimGlob> Excluded)
    {
        /// <summary>The path as the rule gives it (a file, a directory or a glob).</summary>
        public string Spec { get; init; } = Root;
    }

    public IReadOnlyList<WatchedPath> Paths { get; }

    /// <summary>Enabled rules left out, and why (a glob of theirs does not compile).</summary>
    public IReadOnlyList<(FimRule Rule, string Problem)> Skipped { get; }

    private static string? Problem(FimRule rule)
    {
        foreach (var path in rule.Paths)
        {
            if (path?.Path is not { Length: > 0 } p || !p.StartsWith('/'))
                return "a path is not absolute";
            if (IsGlob(p) && !FimGlob.TryPath(p, out _, out var problem))
                return $"path '{p}' {problem}";
        }

        foreach (var excluded in rule.Exclusions?.Paths ?? [])
        {
            if (excluded is null)
                return "an excluded path is null";
            if (!FimGlob.TryPath(excluded, out _, out var problem))
                return $"excluded path '{excluded}' {problem}";
        }

        return null;
    }

    private static bool IsGlob(string path) => path.IndexOfAny(['*', '?', '[']) >= 0;

    /// <summary>
    /// An alert of <paramref name="rule"/> on <paramref name="path"/>, with no process known (the reason says why). This
    /// agent cannot block: a <c>prevent</c> rule's alert says <c>prevent-unsupported</c>.
    /// </summary>
    public static FimAlertReport Alert(FimRule rule, string path, FimOperation action, DateTimeOffset time, string noAttributionBecause) => new()
    {
        Id = "a" + EventId.New(),
        Time = time,
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = path,
        Action = action,
        Effect = rule.Effect == FimEffect.Prevent ? FimAlertEffect.PreventUnsupported : FimAlertEffect.Alerted,
        Attribution = FimAttribution.Unavailable,
        AttributionReason = noAttributionBecause,
    };

    /// <summary>
    /// The rules (each once) that alert on <paramref name="action"/> on <paramref name="path"/>. A rule's process
    /// exclusions apply only to a process whose executable the kernel named: <paramref name="process"/>'s
    /// <c>Executable</c> must be read from <c>/proc/&lt;pid&gt;/exe</c> (see <see cref="ExcludedExecutables"/>).
    /// </summary>
    public IEnumerable<FimRule> Matching(string path, FimOperation action, FimProcess? process = null) =>
        Covering(path, process).Where(rule => rule.Operations.Contains(action));

    /// <summary>
    /// The rules (each once) that cover <paramref name="path"/>, whatever the operation: what an inode attribute refuses,
    /// it refuses for every operation. Process exclusions as for <see cref="Matching"/>.
    /// </summary>
    public IEnumerable<FimRule> Covering(string path, FimProcess? process = null) => Paths
        .Where(p => p.Covers(path) && !p.Excluded.Any(x => x.IsMatch(path)))
        .Select(p => p.Rule)
        .Where(rule => process is null || !(_excluded.TryGetValue(rule.Id, out var excluded) && excluded.Contains(process.Executable)))
        .DistinctBy(r => r.Id);

    /// <summary>
    /// Whether a rule that covers <paramref name="path"/> has process exclusions: only then does a process's executable
    /// (a read of <c>/proc/&lt;pid&gt;/exe</c>) change what <see cref="Covering"/> and <see cref="Matching"/> give.
    /// </summary>
    public bool ExcludesProcesses(string path) => _excluded.Count > 0 && Covering(path).Any(r => _excluded.ContainsKey(r.Id));

    private static WatchedPath Compile(FimRule rule, FimPath spec)
    {
        var path = spec.Path.Length > 1 ? spec.Path.TrimEnd('/') : spec.Path;
        var excluded = (rule.Exclusions?.Paths ?? []).Select(FimGlob.Path).ToList();
        var wild = path.IndexOfAny(['*', '?', '[']);
        if (wild >= 0)
        {
            var root = path[..path.LastIndexOf('/', wild)];
            var pattern = FimGlob.Path(path);
            var deeper = path[wild..].Contains('/') || path.Contains("**", StringComparison.Ordinal) || spec.Recursive == true;
            return new WatchedPath(rule, root.Length == 0 ? "/" : root, deeper, p => pattern.IsMatch(p) || (spec.Recursive == true && Under(p, pattern)), excluded);
        }

        if (Directory.Exists(path))
        {
            return spec.Recursive == true
                ? new WatchedPath(rule, path, true, p => p == path || p.StartsWith(path == "/" ? "/" : path + "/", StringComparison.Ordinal), excluded)
                : new WatchedPath(rule, path, false, p => p == path || Path.GetDirectoryName(p) == path, excluded);
        }

        // Not there (yet), but recursive: a directory to come. Its parent is watched for it; once made, it is watched
        // with everything below it (FimWatcher.WatchNewDirectory), and it covers what is below it meanwhile.
        if (spec.Recursive == true)
            return new WatchedPath(rule, Path.GetDirectoryName(path) ?? "/", false, p => p == path || p.StartsWith(path + "/", StringComparison.Ordinal), excluded);

        // A file (or one not there yet): its directory is watched, for the file's name.
        return new WatchedPath(rule, Path.GetDirectoryName(path) ?? "/", false, p => p == path, excluded);
    }

    /// <summary>A path below one the glob matches (a recursive glob rule covers what is inside the directories it names).</summary>
    private static bool Under(string path, FimGlob pattern)
    {
        for (var cut = path.LastIndexOf('/'); cut > 0; cut = path.LastIndexOf('/', cut - 1))
        {
            if (pattern.IsMatch(path[..cut]))
                return true;
        }

        return false;
    }
}

using System.Text;
using System.Text.RegularExpressions;
using Platform.Contracts;

namespace Platform.Agent.Fim;

/// <summary>
/// The enabled FIM rules, compiled: which directories hold what they protect, and which rules an action on a path
/// falls under (the operation is one the rule watches, a path of the rule covers it, no exclusion of the rule
/// matches it). Shared by the inotify watcher and the simulator, so both judge a path the same way.
/// </summary>
public sealed class FimRuleMatcher(IReadOnlyList<FimRule> rules)
{
    /// <summary>A rule's path, compiled: the directory to watch (and below it, when recursive) and which paths it covers.</summary>
    public sealed record WatchedPath(FimRule Rule, string Root, bool Recursive, Func<string, bool> Covers, IReadOnlyList<Regex> Excluded)
    {
        /// <summary>The path as the rule gives it (a file, a directory or a glob).</summary>
        public string Spec { get; init; } = Root;
    }

    public IReadOnlyList<WatchedPath> Paths { get; } = rules.Where(r => r.Enabled).SelectMany(r => r.Paths.Select(p => Compile(r, p) with { Spec = p.Path })).ToList();

    /// <summary>
    /// An alert of <paramref name="rule"/> on <paramref name="path"/>, with no process known (the reason says why). This
    /// agent cannot block: a <c>prevent</c> rule's alert says <c>prevent-unsupported</c>.
    /// </summary>
    public static FimAlertReport Alert(FimRule rule, string path, FimOperation action, DateTimeOffset time, string noAttributionBecause) => new()
    {
        Id = "a" + Guid.CreateVersion7().ToString("N"),
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
    /// exclusions (a name or an absolute executable path) apply only when the process is known.
    /// </summary>
    public IEnumerable<FimRule> Matching(string path, FimOperation action, FimProcess? process = null) => Paths
        .Where(p => p.Rule.Operations.Contains(action) && p.Covers(path) && !p.Excluded.Any(x => x.IsMatch(path)))
        .Select(p => p.Rule)
        .Where(rule => process is null || !(rule.Exclusions?.Processes ?? []).Any(x => x == process.Name || x == process.Executable))
        .DistinctBy(r => r.Id);

    private static WatchedPath Compile(FimRule rule, FimPath spec)
    {
        var path = spec.Path.Length > 1 ? spec.Path.TrimEnd('/') : spec.Path;
        var excluded = (rule.Exclusions?.Paths ?? []).Select(Glob).ToList();
        var wild = path.IndexOfAny(['*', '?', '[']);
        if (wild >= 0)
        {
            var root = path[..path.LastIndexOf('/', wild)];
            var pattern = Glob(path);
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
    private static bool Under(string path, Regex pattern)
    {
        for (var cut = path.LastIndexOf('/'); cut > 0; cut = path.LastIndexOf('/', cut - 1))
        {
            if (pattern.IsMatch(path[..cut]))
                return true;
        }

        return false;
    }

    /// <summary><c>*</c> within a name, <c>**</c> any depth, <c>?</c> one character, <c>[abc]</c> a class.</summary>
    public static Regex Glob(string glob)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                var slash = i + 2 < glob.Length && glob[i + 2] == '/';
                regex.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else if (c == '[' && glob.IndexOf(']', i + 1) is var close && close > i + 1)
            {
                var set = glob[(i + 1)..close];
                regex.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                i = close;
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}

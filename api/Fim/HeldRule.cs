namespace Platform.Api.Fim;

/// <summary>
/// One version of a FIM rule as an agent held it, compiled to judge the alerts the agent pushes under it: whether the
/// version was in force for the agent (enabled, its scope matches the agent's host name and labels) and whether an
/// alert's path and action are ones it watches. Paths are judged without the node's file system: a plain path covers
/// itself and its entries (it may be a directory), and everything below it when recursive; a glob covers what it
/// matches, and what is below a match when recursive; an exclusion that matches takes the path out. This is what the
/// agent's matcher covers (agent/Fim/FimRuleMatcher.cs), whatever the path turns out to be on the node.
/// </summary>
public sealed record HeldRule
{
    private readonly IReadOnlyList<FimGlob> _hostnames;
    private readonly IReadOnlyDictionary<string, string> _labels;
    private readonly IReadOnlyList<(string Plain, FimGlob? Glob, bool Recursive)> _paths;
    private readonly IReadOnlyList<FimGlob> _excluded;

    private HeldRule(string ruleId, int version, FimRuleSpec spec)
    {
        (RuleId, Version, Name, Severity, Enabled, Prevents) = (ruleId, version, spec.Name, spec.Severity, spec.Enabled ?? true, spec.Effect == FimEffect.Prevent);
        Operations = spec.Operations.ToHashSet();
        _hostnames = spec.Scope?.Hostnames?.Select(FimGlob.Hostname).ToList() ?? [];
        _labels = spec.Scope?.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>();
        _paths = spec.Paths.Select(p =>
        {
            var path = p.Path.Length > 1 ? p.Path.TrimEnd('/') : p.Path;
            return (path, path.IndexOfAny(['*', '?', '[']) >= 0 ? FimGlob.Path(path) : null, p.Recursive == true);
        }).ToList();
        _excluded = (spec.Exclusions?.Paths ?? []).Select(FimGlob.Path).ToList();
    }

    public string RuleId { get; }

    public int Version { get; }

    public string Name { get; }

    public FimSeverity Severity { get; }

    public bool Enabled { get; }

    public IReadOnlySet<FimOperation> Operations { get; }

    /// <summary>A <c>prevent</c> rule: the agent refuses changes to what it covers (all of them, with the inode attributes).</summary>
    public bool Prevents { get; }

    /// <summary>When the next version replaced this one (an update, a disable or the deletion); null while it is the current one.</summary>
    public DateTimeOffset? ReplacedAt { get; init; }

    /// <summary>The version compiled, or null when its spec does not read or a glob of it does not compile (no agent was served it).</summary>
    public static HeldRule? TryCompile(string ruleId, int version, FimRuleSpec? spec)
    {
        if (spec is not { Name: not null, Paths: not null, Operations: not null })
            return null;
        try
        {
            return new HeldRule(ruleId, version, spec);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The policy's own test (FimPolicyCache): an empty scope applies nowhere; host name (any glob) and labels (all) must match.</summary>
    public bool AppliesTo(string hostname, IDictionary<string, string> labels) =>
        (_hostnames.Count > 0 || _labels.Count > 0)
        && (_hostnames.Count == 0 || _hostnames.Any(glob => glob.IsMatch(hostname)))
        && _labels.All(label => labels.TryGetValue(label.Key, out var value) && value == label.Value);

    public bool Covers(string path) => !_excluded.Any(x => x.IsMatch(path)) && _paths.Any(p => Covers(p.Plain, p.Glob, p.Recursive, path));

    /// <summary>Whether one path of a rule (as the rule gives it) covers <paramref name="path"/>, exclusions aside.</summary>
    public static bool Covers(FimPath rulePath, string path)
    {
        var plain = rulePath.Path.Length > 1 ? rulePath.Path.TrimEnd('/') : rulePath.Path;
        return Covers(plain, plain.IndexOfAny(['*', '?', '[']) >= 0 && FimGlob.TryPath(plain, out var glob, out _) ? glob : null, rulePath.Recursive == true, path);
    }

    private static bool Covers(string plain, FimGlob? glob, bool recursive, string path)
    {
        if (glob is null)
        {
            var prefix = plain == "/" ? "/" : plain + "/";
            return path == plain || (path.StartsWith(prefix, StringComparison.Ordinal) && (recursive || path.IndexOf('/', prefix.Length) < 0));
        }

        return glob.IsMatch(path) || (recursive && Below(path, glob));
    }

    private static bool Below(string path, FimGlob glob)
    {
        for (var cut = path.LastIndexOf('/'); cut > 0; cut = path.LastIndexOf('/', cut - 1))
        {
            if (glob.IsMatch(path[..cut]))
                return true;
        }

        return false;
    }
}

namespace Platform.Api.Incidents;

/// <summary>The process tree as the rules see it: lineages, their start events as evidence, and how findings draw them.</summary>
public sealed partial class AgentDetection
{
    private const int MaxDepth = 16;

    /// <summary>Same process, one the other's ancestor, or children of a common ancestor that is not init or a supervisor.</summary>
    private bool Related(int a, int b)
    {
        if (a == b)
            return true;
        var chainA = Chain(a);
        var chainB = Chain(b);
        if (chainA.Contains(b) || chainB.Contains(a))
            return true;
        return chainA.Intersect(chainB).Any(p => p > 1 && !settings.IsLineageRoot(Name(p)));
    }

    /// <summary>The process and its known ancestors, the oldest first.</summary>
    private List<int> Chain(int pid)
    {
        var chain = new List<int>();
        var current = pid;
        while (chain.Count < MaxDepth && !chain.Contains(current))
        {
            chain.Add(current);
            // Ancestors detection knows of only: an unknown parent would be a nameless step in the lineage.
            if (!_processes.TryGetValue(current, out var node) || node.Ppid is not { } parent || parent <= 0 || !_processes.ContainsKey(parent))
                break;
            current = parent;
        }

        chain.Reverse();
        return chain;
    }

    private static List<int> Merge(List<int> a, List<int> b)
    {
        var merged = new List<int>(a);
        foreach (var pid in b)
        {
            if (!merged.Contains(pid))
                merged.Add(pid);
        }

        return merged;
    }

    private List<DetectionEvent> Evidence(int pid) => Starts(Chain(pid)).ToList();

    /// <summary>The start events of the processes whose starts detection has seen.</summary>
    private IEnumerable<DetectionEvent> Starts(IEnumerable<int> pids) =>
        pids.Select(p => _processes.TryGetValue(p, out var n) ? n.Start : null).OfType<DetectionEvent>();

    private string? Name(int pid) => _processes.TryGetValue(pid, out var node) ? node.Name : null;

    private int? Parent(int pid) => _processes.TryGetValue(pid, out var node) ? node.Ppid : null;

    /// <summary>
    /// A lineage as the tree it is: <c>java -> sh -> {cp, curl}</c> when cp and curl are both children of sh, not
    /// <c>java -> sh -> cp -> curl</c>. Children in the lineage's order; several roots in braces too.
    /// </summary>
    public static string Tree(IReadOnlyList<LineageProcess> lineage)
    {
        var pids = lineage.Select(p => p.Pid).ToHashSet();
        var children = lineage.Where(p => p.Ppid is { } parent && parent != p.Pid && pids.Contains(parent)).ToLookup(p => p.Ppid!.Value);
        var roots = lineage.Where(p => p.Ppid is not { } parent || parent == p.Pid || !pids.Contains(parent)).ToList();
        var shown = new HashSet<int>();
        string Render(LineageProcess p)
        {
            var name = p.Name ?? $"pid {p.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            if (!shown.Add(p.Pid) || shown.Count > 64)
                return name;
            var below = children[p.Pid].Where(c => !shown.Contains(c.Pid)).ToList();
            return below.Count switch
            {
                0 => name,
                1 => $"{name} -> {Render(below[0])}",
                _ => $"{name} -> {{{string.Join(", ", below.Select(Render))}}}",
            };
        }

        return roots.Count == 1 ? Render(roots[0]) : $"{{{string.Join(", ", roots.Select(Render))}}}";
    }

    private string Tree(List<int> lineage) => Tree(Lineage(lineage));

    private List<LineageProcess> Lineage(List<int> pids) =>
        pids.Select(x => new LineageProcess { Pid = x, Ppid = Parent(x), Name = Name(x), Executable = _processes.TryGetValue(x, out var n) ? n.Executable : null }).ToList();
}

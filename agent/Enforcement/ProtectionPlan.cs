using Platform.Agent.Fim;

namespace Platform.Agent.Enforcement;

/// <summary>
/// What the enabled <c>prevent</c> rules protect on this machine now, path by path, with the attribute each gets:
/// a rule's files immutable (append-only with <c>allowAppend</c>); a directory a rule names immutable too (nothing
/// created, removed or renamed inside; with <c>allowAppend</c> append-only: new files can be made, none removed or
/// renamed), and with <c>recursive</c> every file and directory below it; a glob's matches (and, recursive,
/// what is below them). Paths a rule excludes are left alone. Where two rules cover a path, immutable wins.
/// Only rules that refuse something an attribute can refuse (write, create, delete, rename, metadata) count: reads
/// cannot be refused by an attribute. Symbolic links are neither followed nor protected (a protected directory
/// keeps them from being replaced).
/// </summary>
public static class ProtectionPlan
{
    private static readonly FimOperation[] Refusable = [FimOperation.Write, FimOperation.Create, FimOperation.Delete, FimOperation.Rename, FimOperation.Metadata];

    /// <summary>
    /// The plan: path to attribute, and whether it stopped at a bound (<paramref name="maxTargets"/>, <paramref name="maxLookedAt"/>).
    /// <paramref name="effect"/> <c>alert</c>: the same paths of the alert rules that watch a change (what the kernel sensor watches for them).
    /// </summary>
    public static (Dictionary<string, InodeFlag> Targets, bool Truncated) Build(IReadOnlyList<FimRule> rules, int maxTargets, int maxLookedAt, FimEffect effect = FimEffect.Prevent)
    {
        var targets = new Dictionary<string, InodeFlag>(StringComparer.Ordinal);
        var lookedAt = 0;
        var truncated = false;
        var matcher = new FimRuleMatcher(rules.Where(r => r.Enabled && r.Effect == effect && r.Operations.Any(Refusable.Contains)).ToList());
        foreach (var watched in matcher.Paths)
        {
            var flag = watched.Rule.AllowAppend ? InodeFlag.Append : InodeFlag.Immutable;
            bool Add(string path)
            {
                if (watched.Excluded.Any(x => x.IsMatch(path)))
                    return true;
                if (targets.TryGetValue(path, out var had))
                {
                    if (had == InodeFlag.Append && flag == InodeFlag.Immutable)
                        targets[path] = flag;
                    return true;
                }

                if (targets.Count >= maxTargets)
                    return false;
                targets[path] = flag;
                return true;
            }

            var spec = watched.Spec.Length > 1 ? watched.Spec.TrimEnd('/') : watched.Spec;
            var glob = spec.IndexOfAny(['*', '?', '[']) >= 0;
            if (!glob && InodeFlags.Stat(spec, out _) is { } what)
            {
                if (what.IsFile)
                {
                    truncated |= !Add(spec);
                    continue;
                }

                if (!what.IsDirectory)
                    continue;
                truncated |= !Add(spec);
            }
            else if (!glob)
            {
                continue; // not there (yet): protected once it appears (the next rescan)
            }

            if (!Directory.Exists(watched.Root))
                continue;
            var entries = Directory.EnumerateFileSystemEntries(watched.Root, "*", new EnumerationOptions
            {
                RecurseSubdirectories = watched.Recursive, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint,
            });
            foreach (var entry in entries)
            {
                if (++lookedAt > maxLookedAt)
                {
                    truncated = true;
                    break;
                }

                if (!watched.Covers(entry))
                    continue;
                // A non-recursive directory rule protects the directory and its files, not the directories in it.
                if (!glob && !watched.Recursive && Directory.Exists(entry))
                    continue;
                if (!Add(entry))
                {
                    truncated = true;
                    break;
                }
            }
        }

        return (targets, truncated);
    }
}

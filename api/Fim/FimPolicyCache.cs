using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Platform.Api.Fim;

/// <summary>
/// The enabled rules, compiled for scope matching, reloaded only when the policy generation moves (any
/// rule change bumps it, on any API instance). Agents poll their policy often; this keeps a poll to two
/// small queries and an in-memory match. A stored rule that cannot be used (a glob that does not compile, a
/// spec that does not read: written directly into the database, or by an older version) is left out of every
/// policy with a warning, once; the other rules are served as usual.
/// </summary>
public sealed class FimPolicyCache(FimRuleStore store, FimUnlockStore unlocks, TimeProvider time, ILogger<FimPolicyCache> logger)
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private readonly HashSet<(string RuleId, int Version)> _warned = [];
    private Snapshot _snapshot = new(-1, [], new Dictionary<string, FimRule>(), new Dictionary<string, HeldRule>(), new Dictionary<string, FimUnlockRow>());

    /// <summary>
    /// The rules that apply to a host, by name, each with its unlock window while one is open, and an ETag that
    /// changes exactly when they do (a window opening, ending or running out included).
    /// </summary>
    public async Task<(IReadOnlyList<FimRule> Rules, string ETag)> PolicyForAsync(string hostname, IDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var snapshot = await CurrentAsync(cancellationToken);
        var now = time.GetUtcNow();
        var rules = snapshot.Rules.Where(rule => rule.AppliesTo(hostname, labels))
            .Select(rule => rule.Contract.Effect == FimEffect.Prevent && snapshot.Unlocks.TryGetValue(rule.Contract.Id, out var window) && window.UnlockedFrom <= now && now < window.UnlockedUntil
                ? Unlocked(rule.Contract, window)
                : rule.Contract)
            .ToList();
        return (rules, ETagOf(rules));
    }

    /// <summary>A copy of the cached rule with its window (the cached one is shared by every poll).</summary>
    private static FimRule Unlocked(FimRule rule, FimUnlockRow window)
    {
        var copy = JsonSerializer.Deserialize<FimRule>(JsonSerializer.SerializeToUtf8Bytes(rule, RuleSpecs.Json), RuleSpecs.Json)!;
        copy.Unlock = window.ToContract();
        return copy;
    }

    private async Task<Snapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        var generation = await store.GenerationAsync(cancellationToken);
        if (_snapshot.Generation == generation)
            return _snapshot;
        await _reload.WaitAsync(cancellationToken);
        try
        {
            if (_snapshot.Generation != generation)
            {
                var (loadedGeneration, rows) = await store.SnapshotAsync(cancellationToken);
                // After the generation: a window opened since is read here or by the next reload (it bumps the generation).
                var open = await unlocks.AllOpenAsync(time.GetUtcNow(), cancellationToken);
                var compiled = new List<CompiledRule>();
                var all = new Dictionary<string, FimRule>(StringComparer.Ordinal);
                var held = new Dictionary<string, HeldRule>(StringComparer.Ordinal);
                foreach (var row in rows)
                {
                    if (Usable(row, out var rule, out var problem))
                    {
                        all[rule.Id] = rule;
                        held[rule.Id] = HeldRule.TryCompile(rule.Id, rule.Version, TryRead(row.SpecJson))!;
                        if (rule.Enabled)
                            compiled.Add(CompiledRule.From(rule));
                    }
                    else if (_warned.Add((row.RuleId, row.Version)))
                    {
                        logger.LogWarning("FIM rule {RuleId} version {Version} is left out of every policy: {Problem}", row.RuleId, row.Version, problem);
                    }
                }

                _snapshot = new Snapshot(loadedGeneration, compiled, all, held, open);
            }

            return _snapshot;
        }
        finally
        {
            _reload.Release();
        }
    }

    private static string ETagOf(IEnumerable<FimRule> rules)
    {
        var text = string.Join('\n', rules.Select(r => r.Unlock is { } window ? $"{r.Id}:{r.Version}:{window.Id}" : $"{r.Id}:{r.Version}"));
        return $"\"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32]}\"";
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string RuleId, int Version), HeldRule> _held = new();

    /// <summary>
    /// The rule version an alert names, as agents were served it, with when it was replaced; null when the rule never
    /// had that version (or it cannot be used: no agent was served it). The current version comes from the snapshot
    /// (no query); an older one from the rule's history, compiled once (versions never change), and when it was
    /// replaced (known for good once it is).
    /// </summary>
    public async Task<HeldRule?> HeldAsync(string ruleId, int version, CancellationToken cancellationToken)
    {
        var snapshot = await CurrentAsync(cancellationToken);
        if (snapshot.All.TryGetValue(ruleId, out var current) && current.Version == version)
            return snapshot.Held[ruleId];
        if (_held.TryGetValue((ruleId, version), out var known) && known.ReplacedAt is not null)
            return known;
        var rows = await store.VersionAndNextAsync(ruleId, version, cancellationToken);
        if (rows.FirstOrDefault(r => r.Version == version) is not { Change: not "deleted" } row)
            return null;
        var held = HeldRule.TryCompile(ruleId, version, TryRead(row.SpecJson));
        if (held is null)
            return null;
        held = held with { ReplacedAt = rows.FirstOrDefault(r => r.Version == version + 1)?.ChangedAt };
        if (_held.Count > 10_000)
            _held.Clear();
        _held[(ruleId, version)] = held;
        return held;
    }

    /// <summary>The stored rule as the API gives it, when its spec reads and every glob of it compiles.</summary>
    private static bool Usable(FimRuleRow row, [NotNullWhen(true)] out FimRule? rule, [NotNullWhen(false)] out string? problem)
    {
        rule = null;
        if (TryRead(row.SpecJson) is not { Name: not null, Paths: not null, Operations: not null } spec)
        {
            problem = "its stored spec cannot be read";
            return false;
        }

        rule = RuleSpecs.ToContract(row, spec);
        foreach (var glob in rule.Scope.Hostnames ?? [])
        {
            string? why = null;
            if (glob is null || !FimGlob.TryHostname(glob, out _, out why))
            {
                problem = $"scope.hostnames: {(glob is null ? "null" : Glob.Quote(glob))} {why}";
                return false;
            }
        }

        foreach (var (field, glob) in rule.Paths.Select(p => ("paths", p?.Path)).Concat((rule.Exclusions?.Paths ?? []).Select(p => ("exclusions.paths", (string?)p))))
        {
            string? why = null;
            if (glob is null || !FimGlob.TryPath(glob, out _, out why))
            {
                problem = $"{field}: {(glob is null ? "null" : Glob.Quote(glob))} {why}";
                return false;
            }
        }

        problem = null;
        return true;
    }

    private static FimRuleSpec? TryRead(string json)
    {
        try
        {
            return RuleSpecs.FromJson(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record Snapshot(long Generation, IReadOnlyList<CompiledRule> Rules, IReadOnlyDictionary<string, FimRule> All, IReadOnlyDictionary<string, HeldRule> Held, IReadOnlyDictionary<string, FimUnlockRow> Unlocks);

    private sealed record CompiledRule(FimRule Contract, IReadOnlyList<FimGlob> Hostnames, IReadOnlyDictionary<string, string> Labels)
    {
        /// <summary>Of a rule <see cref="Usable"/> found fine.</summary>
        public static CompiledRule From(FimRule rule) => new(
            rule,
            rule.Scope.Hostnames?.Select(FimGlob.Hostname).ToList() ?? [],
            rule.Scope.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>());

        /// <summary>An empty scope applies nowhere; otherwise host name (any glob) and labels (all) must match.</summary>
        public bool AppliesTo(string hostname, IDictionary<string, string> labels) =>
            (Hostnames.Count > 0 || Labels.Count > 0)
            && (Hostnames.Count == 0 || Hostnames.Any(glob => glob.IsMatch(hostname)))
            && Labels.All(label => labels.TryGetValue(label.Key, out var value) && value == label.Value);
    }
}

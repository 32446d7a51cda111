using System.Security.Cryptography;
using System.Text;
using Platform.Contracts;

namespace Platform.Api.Fim;

/// <summary>
/// The enabled rules, compiled for scope matching, reloaded only when the policy generation moves (any
/// rule change bumps it, on any API instance). Agents poll their policy often; this keeps a poll to two
/// small queries and an in-memory match.
/// </summary>
public sealed class FimPolicyCache(FimRuleStore store)
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private Snapshot _snapshot = new(-1, [], new Dictionary<string, FimRule>());

    /// <summary>The rules that apply to a host, by name, and an ETag that changes exactly when they do.</summary>
    public async Task<(IReadOnlyList<FimRule> Rules, string ETag)> PolicyForAsync(string hostname, IDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var snapshot = await CurrentAsync(cancellationToken);
        var rules = snapshot.Rules.Where(rule => rule.AppliesTo(hostname, labels)).Select(rule => rule.Contract).ToList();
        return (rules, ETagOf(rules));
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
                var all = rows.Select(RuleSpecs.ToContract).ToList();
                _snapshot = new Snapshot(loadedGeneration, all.Where(r => r.Enabled).Select(CompiledRule.From).ToList(), all.ToDictionary(r => r.Id, StringComparer.Ordinal));
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
        var text = string.Join('\n', rules.Select(r => $"{r.Id}:{r.Version}"));
        return $"\"{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32]}\"";
    }

    /// <summary>
    /// The name and severity of the rule version an alert names: from the current rules, else from the
    /// rule's history (the rule changed or was deleted since). An unknown rule is still stored, never refused.
    /// </summary>
    public async Task<(string Name, FimSeverity Severity)> DescribeRuleAsync(string ruleId, int version, CancellationToken cancellationToken)
    {
        var snapshot = await CurrentAsync(cancellationToken);
        if (snapshot.All.TryGetValue(ruleId, out var rule) && rule.Version == version)
            return (rule.Name, rule.Severity);
        if (await store.FindVersionAsync(ruleId, version, cancellationToken) is { } old)
        {
            var spec = RuleSpecs.FromJson(old.SpecJson);
            return (spec.Name, spec.Severity);
        }

        return rule is not null ? (rule.Name, rule.Severity) : ("(unknown rule)", FimSeverity.Medium);
    }

    private sealed record Snapshot(long Generation, IReadOnlyList<CompiledRule> Rules, IReadOnlyDictionary<string, FimRule> All);

    private sealed record CompiledRule(FimRule Contract, IReadOnlyList<FimGlob> Hostnames, IReadOnlyDictionary<string, string> Labels)
    {
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

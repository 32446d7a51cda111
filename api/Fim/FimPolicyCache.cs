using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
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
    private Snapshot _snapshot = new(-1, []);

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
                _snapshot = new Snapshot(loadedGeneration, rows.Select(RuleSpecs.ToContract).Where(r => r.Enabled).Select(CompiledRule.From).ToList());
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

    private sealed record Snapshot(long Generation, IReadOnlyList<CompiledRule> Rules);

    private sealed record CompiledRule(FimRule Contract, IReadOnlyList<Regex> Hostnames, IReadOnlyDictionary<string, string> Labels)
    {
        public static CompiledRule From(FimRule rule) => new(
            rule,
            rule.Scope.Hostnames?.Select(Glob.HostnameRegex).ToList() ?? [],
            rule.Scope.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>());

        /// <summary>An empty scope applies nowhere; otherwise host name (any glob) and labels (all) must match.</summary>
        public bool AppliesTo(string hostname, IDictionary<string, string> labels) =>
            (Hostnames.Count > 0 || Labels.Count > 0)
            && (Hostnames.Count == 0 || Hostnames.Any(glob => glob.IsMatch(hostname)))
            && Labels.All(label => labels.TryGetValue(label.Key, out var value) && value == label.Value);
    }
}

namespace Platform.Agent.Enforcement;

/// <summary>
/// No kernel-kept prevention: nothing is set, and what an earlier run set is given back (the ledger's entries) when
/// the first policy arrives. With <see cref="AgentPreventionMechanism.Fanotify"/> the FIM watcher refuses opens for
/// writing by name as before; with <see cref="AgentPreventionMechanism.None"/> nothing is refused.
/// </summary>
public sealed class NoEnforcement(AgentPreventionMechanism mechanism, string reason, EnforcementLedger? ledger = null, ILogger? log = null, EnforcementOptions? options = null) : IEnforcement
{
    private readonly EnforcementOptions _options = options ?? new EnforcementOptions();
    private IReadOnlyDictionary<string, string?> _planned = new Dictionary<string, string?>(StringComparer.Ordinal);

    private readonly InodeAttributeEnforcement? _leftovers = ledger is not null && File.Exists(ledger.FilePath) && log is not null
        ? new InodeAttributeEnforcement(ledger, new EnforcementOptions(), log)
        : null;

    public AgentPreventionMechanism Mechanism => mechanism;

    public string? Reason => reason;

    public EnforcementReport Apply(IReadOnlyList<FimRule> rules, IReadOnlyDictionary<string, DateTimeOffset> unlockedUntil, DateTimeOffset now)
    {
        var restored = _leftovers?.RestoreAll() ?? 0;
        var unlocked = unlockedUntil.Where(u => u.Value > now).Select(u => u.Key).ToHashSet(StringComparer.Ordinal);
        var (targets, _) = ProtectionPlan.Build(rules.Where(r => !unlocked.Contains(r.Id)).ToList(), _options.MaxProtected, _options.MaxEntriesLookedAt);
        Volatile.Write(ref _planned, targets.Keys.ToDictionary(p => p, p => Unsupported(p, FimOperation.Write), StringComparer.Ordinal));
        return new EnforcementReport(0, 0, restored, new Dictionary<string, string>(), null);
    }

    public IReadOnlyList<string> Verify() => [];

    public Reassertion Reassert(uint deviceMajor, uint deviceMinor, ulong inode) => new([], reason);

    public string? Unsupported(string path, FimOperation action) => mechanism == AgentPreventionMechanism.Fanotify && action == FimOperation.Write ? null : reason;

    public IReadOnlyDictionary<string, string?> Planned => Volatile.Read(ref _planned);

    public IReadOnlyList<ProtectedInode> ProtectedInodes() => [];

    public int RestoreAll() => _leftovers?.RestoreAll() ?? 0;
}

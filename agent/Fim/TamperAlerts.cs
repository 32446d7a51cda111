using Platform.Agent.Collectors;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Agent.Fim;

/// <summary>
/// The kernel sensor's tamper attempts on what <c>prevent</c> rules protect, as FIM alerts. With the inode attributes
/// in force a refused attempt never reaches the file watcher (the kernel refuses the open, the unlink, the rename
/// before fanotify or inotify hear of it), so this is where it is reported: one alert per attempt and rule, effect
/// <c>prevented</c>, with the real process and user the kernel saw. Changes that went through are the file watcher's
/// to report (it has their content before and after), except one: a process clearing the immutable or append-only
/// attribute, which is reported here, and after which the agent puts the attribute back at once.
/// </summary>
public sealed class TamperAlerts(UserNames users)
{
    private FimRuleMatcher _rules = new([]);

    /// <summary>The rules in force (the policy service's); attempts are judged against the last set.</summary>
    public void Use(IReadOnlyList<FimRule> rules) => Volatile.Write(ref _rules, new FimRuleMatcher(rules));

    /// <summary>
    /// The alerts of one attempt: for each enabled <c>prevent</c> rule that covers the path (its process exclusions
    /// applied), <c>prevented</c> when the kernel refused it, and for a cleared attribute the change itself. Nothing for an attempt that failed for another reason (a missing file: it changed nothing and
    /// the protection did not stop it), nor for one under a rule unlocked now (<paramref name="unlocked"/>).
    /// </summary>
    public IReadOnlyList<FimAlertReport> Convert(TamperAttempt attempt, Func<FimRule, bool> unlocked)
    {
        var clearsAttribute = attempt.Succeeded && attempt.Operation == TamperOperation.Attributes && (attempt.ClearsImmutable || attempt.ClearsAppendOnly);
        if (!clearsAttribute && attempt.Errno is not (TamperAttempt.EPerm or TamperAttempt.EAccess))
            return [];
        var action = Action(attempt);
        var process = Process(attempt);
        var rules = Volatile.Read(ref _rules);
        var alerts = new List<FimAlertReport>();
        foreach (var path in Paths(attempt).Distinct(StringComparer.Ordinal))
        {
            // A refusal is reported under every prevent rule that covers the file, whatever operations it lists: the
            // attribute refused it on the rule's behalf. A removed attribute, under the rules that watch metadata.
            var covering = clearsAttribute ? rules.Matching(path, action, process) : rules.Covering(path, process);
            foreach (var rule in covering.Where(r => r.Effect == FimEffect.Prevent && !unlocked(r)))
            {
                if (alerts.Any(a => a.RuleId == rule.Id))
                    continue;
                alerts.Add(new FimAlertReport
                {
                    Id = "a" + EventId.New(),
                    Time = attempt.Time,
                    RuleId = rule.Id,
                    RuleVersion = rule.Version,
                    Path = path,
                    Action = action,
                    Effect = clearsAttribute ? FimAlertEffect.PreventUnsupported : FimAlertEffect.Prevented,
                    EffectReason = clearsAttribute
                        ? $"{(attempt.ClearsImmutable ? "the immutable" : "the append-only")} attribute was removed ({attempt.Syscall}); the agent put it back"
                        : null,
                    Attribution = FimAttribution.Available,
                    Process = process,
                    Container = attempt.Process.Container(),
                });
            }
        }

        return alerts;
    }

    /// <summary>
    /// The paths an attempt is judged on: the protected file itself; for an entry of a protected directory (a file made,
    /// removed or renamed in it), the entry's path first, then the directory's.
    /// </summary>
    private static IEnumerable<string> Paths(TamperAttempt attempt)
    {
        if (attempt.Match == TamperTarget.Parent)
        {
            foreach (var named in new[] { attempt.Path, attempt.Path2 })
            {
                if (named is not null && System.IO.Path.GetDirectoryName(named) == attempt.ProtectedPath)
                    yield return named;
            }
        }

        yield return attempt.ProtectedPath;
    }

    /// <summary>The FIM operation an attempt is (openapi.yaml FimOperation).</summary>
    public static FimOperation Action(TamperAttempt attempt) => attempt.Operation switch
    {
        TamperOperation.Write or TamperOperation.Truncate => FimOperation.Write,
        TamperOperation.Remove => FimOperation.Delete,
        TamperOperation.Rename => FimOperation.Rename,
        // A hard link made to a protected file is a new name for it (its link count: metadata); one made in a
        // protected directory is a new entry there.
        TamperOperation.Link => attempt.Match == TamperTarget.Parent ? FimOperation.Create : FimOperation.Metadata,
        TamperOperation.Create => FimOperation.Create,
        _ => FimOperation.Metadata, // chmod, chown, times, inode attributes
    };

    private FimProcess Process(TamperAttempt attempt) => new()
    {
        Pid = attempt.Pid,
        Name = attempt.Process?.Name ?? attempt.Comm,
        Executable = attempt.Process?.Executable,
        Uid = attempt.Uid,
        User = users.Name(attempt.Uid),
    };
}

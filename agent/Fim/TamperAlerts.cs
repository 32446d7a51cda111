using Platform.Agent.Collectors;
using Platform.Agent.Sensor;

namespace Platform.Agent.Fim;

/// <summary>
/// The kernel sensor's tamper attempts on the files of FIM rules, as FIM alerts, with the real process and user the
/// kernel saw. Refused attempts on what <c>prevent</c> rules protect: with the inode attributes in force they never
/// reach the file watcher (the kernel refuses the open, the unlink, the rename before fanotify or inotify hear of
/// it), so they are reported here, effect <c>prevented</c>. Changes that went through under <c>alert</c> rules: the
/// sensor sees every path spelling (a symlink, a hard link, /proc/self/fd/N) and every replace-by-rename, so they are
/// reported here too, effect <c>alerted</c> (the watcher keeps reads, and the writes of <c>allowAppend</c> rules, which
/// only their content can judge). Changes that went through under <c>prevent</c> rules where the enforcement could not
/// protect the file (a filesystem without the attributes, the mechanism turned off: <c>unsupported</c> gives its reason),
/// the same way, effect <c>prevent-unsupported</c> with that reason. And a process clearing the immutable or append-only attribute, after which the agent
/// puts the attribute back at once (the alert says so, or why it could not). Each system call is one attempt here; <see cref="AlertFold"/> makes the calls of
/// one tool one alert. <paramref name="executable"/> reads a process's executable (<see cref="ProcFs.Executable"/> unless
/// given), for the rules' process exclusions; it is read only where a rule covering the path has some.
/// </summary>
public sealed class TamperAlerts(UserNames users, Func<string, FimOperation, string?>? unsupported = null, Func<int, string?>? executable = null)
{
    private readonly Func<int, string?> _executable = executable ?? (pid => ProcFs.Executable(pid));

    private FimRuleMatcher _rules = new([]);

    /// <summary>The rules in force (the policy service's); attempts are judged against the last set.</summary>
    public void Use(IReadOnlyList<FimRule> rules) => Volatile.Write(ref _rules, new FimRuleMatcher(rules));

    /// <summary>
    /// The alerts of one attempt. Refused by the kernel (EPERM, EACCES): for each enabled <c>prevent</c> rule that covers
    /// the path (its process exclusions applied), <c>prevented</c>. The attribute a prevent rule keeps there cleared:
    /// <c>attribute-removed</c> under those rules (no exclusion hides it). Went through: for each enabled <c>alert</c> rule
    /// that watches the operation, <c>alerted</c> (not an open for writing under <c>allowAppend</c>: whether it only
    /// appended is the file watcher's to judge, by content; a truncation never only appends, and truncate(2) by path
    /// reaches no fanotify listener). Nothing for an attempt that failed for another reason (a missing file: it changed
    /// nothing), nor under a rule unlocked now (<paramref name="unlocked"/>), nor for a change (but a rename or removal,
    /// which takes the file from its path) of an inode the watched path no longer has (the sensor's map keeps the
    /// number of a file taken from its path in a way it did not see as a removal, a parent directory renamed, until it
    /// is refilled, and the filesystem may give the number to a new file meanwhile).
    /// <paramref name="known"/>: whether a path was one the sensor watched (a rename over it replaced it).
    /// <paramref name="notRestored"/>: for inode flags set, why the agent could not put the attribute back
    /// (<see cref="Enforcement.IEnforcement.Reassert"/>); null when it did.
    /// </summary>
    public IReadOnlyList<FimAlertReport> Convert(TamperAttempt attempt, Func<FimRule, bool> unlocked, Func<string, bool>? known = null, string? notRestored = null)
    {
        var setsAttributes = attempt.Succeeded && attempt.Operation == TamperOperation.Attributes;
        var refused = attempt.Errno is TamperAttempt.EPerm or TamperAttempt.EAccess;
        if (!refused && !attempt.Succeeded)
            return [];
        if (attempt.Succeeded && attempt.Match == TamperTarget.Inode && attempt.Operation is not (TamperOperation.Rename or TamperOperation.Remove)
            && InodeKey.Lookup(attempt.ProtectedPath, follow: true)?.Key != attempt.Target)
            return []; // an inode the watched path no longer has: removed or replaced, its number given to another file since
        var action = Action(attempt);
        var process = Process(attempt);
        // Exclusions are judged on the executable the kernel runs now, not on the path the process was started by (a
        // name it chose); a process already gone is excluded by nothing. Read once, and only where an exclusion could apply.
        FimProcess? executable = null;
        var rules = Volatile.Read(ref _rules);
        var alerts = new List<FimAlertReport>();
        foreach (var path in Paths(attempt, rules, known ?? (_ => false)).Distinct(StringComparer.Ordinal))
        {
            var judged = rules.ExcludesProcesses(path) ? executable ??= new FimProcess { Pid = attempt.Pid, Executable = _executable(attempt.Pid) } : null;
            // A refusal is reported under every prevent rule that covers the file, whatever operations it lists: the
            // attribute refused it on the rule's behalf. So is a removed attribute: it took every operation's protection,
            // and no exclusion hides it. A change that went through, under the alert rules that watch it.
            var prevents = rules.Covering(path, setsAttributes ? null : judged).Where(r => r.Effect == FimEffect.Prevent && !unlocked(r)).ToList();
            var removed = setsAttributes ? Removed(attempt, prevents, notRestored) : null;
            // Where the enforcement could not protect the file, a refusal is not the rules' (the file's permissions refused
            // it), and a change that went through is the prevent rules' too, as only an alert.
            var why = prevents.Count > 0 ? unsupported?.Invoke(path, action) : null; // asked only where a prevent rule covers the path
            IEnumerable<(FimRule Rule, FimAlertEffect Effect)> covering =
                refused ? prevents.Where(_ => why is null).Select(r => (r, FimAlertEffect.Prevented))
                : removed is not null ? prevents.Select(r => (r, FimAlertEffect.AttributeRemoved))
                : rules.Matching(path, action, judged)
                    .Where(r => (r.Effect == FimEffect.Alert || (r.Effect == FimEffect.Prevent && why is not null)) && !(r.AllowAppend && attempt.Operation == TamperOperation.Write) && !unlocked(r))
                    .Select(r => (r, r.Effect == FimEffect.Alert ? FimAlertEffect.Alerted : FimAlertEffect.PreventUnsupported));
            foreach (var (rule, effect) in covering)
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
                    Effect = effect,
                    EffectReason = effect switch { FimAlertEffect.AttributeRemoved => removed, FimAlertEffect.PreventUnsupported => why, _ => null },
                    Attribution = FimAttribution.Available,
                    Process = process,
                    Container = attempt.Process.Container(),
                });
            }
        }

        return alerts;
    }

    /// <summary>
    /// What an ioctl that set inode flags removed, in words, when it took away the attribute the rules covering the path
    /// have the agent keep there (as <see cref="Enforcement.ProtectionPlan"/>: immutable, unless every rule that refuses
    /// something allows appends), and whether the agent put it back (<paramref name="notRestored"/>: why not); null when
    /// the flags it set still hold it.
    /// </summary>
    private static string? Removed(TamperAttempt attempt, List<FimRule> covering, string? notRestored)
    {
        var keeping = covering.Where(r => r.Operations.Any(o => o != FimOperation.Read)).ToList();
        var (cleared, attribute) = keeping.Any(r => !r.AllowAppend) ? (attempt.ClearsImmutable, "immutable") : (attempt.ClearsAppendOnly, "append-only");
        var call = attempt.Syscall == TamperSyscall.FsSetXattr ? "FS_IOC_FSSETXATTR" : "FS_IOC_SETFLAGS";
        var after = notRestored is null ? "the agent put it back" : $"the agent could NOT put it back ({notRestored})";
        return keeping.Count > 0 && cleared ? $"the {attribute} attribute was removed ({call}); {after}" : null;
    }

    /// <summary>
    /// The paths an attempt is judged on: the protected file itself; for an entry of a protected directory (a file made,
    /// removed or renamed in it), the entry's path first, then the directory's; for a rename over a watched file, that file first
    /// (a file replaced by a rename is the file whose name it took); for a directory renamed, the rules' files in it
    /// (renaming a file's parent moves the file away from its path). One alert per rule: the first path it covers.
    /// </summary>
    private static IEnumerable<string> Paths(TamperAttempt attempt, FimRuleMatcher rules, Func<string, bool> known)
    {
        if (attempt.Match == TamperTarget.Parent)
        {
            foreach (var named in new[] { attempt.Path, attempt.Path2 })
            {
                if (named is not null && System.IO.Path.GetDirectoryName(named) == attempt.ProtectedPath)
                    yield return named;
            }
        }

        // A rename over a file the sensor watched is judged on that file first (whatever inode the sensor matched: the
        // file moved in may be one it has seen made), then on what it matched.
        if (attempt.Operation == TamperOperation.Rename && attempt.Match != TamperTarget.Parent && attempt.Path2 is { } over && known(over))
            yield return over;
        yield return attempt.ProtectedPath;
        if (attempt.Operation == TamperOperation.Rename && attempt.Match == TamperTarget.Inode)
        {
            var under = attempt.ProtectedPath == "/" ? "/" : attempt.ProtectedPath + "/";
            foreach (var file in rules.Paths.Select(p => p.Spec).Where(spec => spec.StartsWith(under, StringComparison.Ordinal) && spec.IndexOfAny(['*', '?', '[']) < 0))
                yield return file;
        }
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

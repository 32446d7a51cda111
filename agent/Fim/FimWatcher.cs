using System.Security.Cryptography;
using Platform.Contracts;

namespace Platform.Agent.Fim;

/// <summary>
/// Watches the paths of FIM rules with inotify and turns what happens to them into alerts.
/// <para>
/// Directories are watched, never single files: the events of a directory's entries name the entry, so a file
/// replaced by a rename (as editors save), deleted and created again stays watched. A file rule watches its
/// directory; a directory rule the directory (and every directory below it when recursive, including ones made
/// later); a glob the directories its fixed part leads to. Events are matched back to rules by path.
/// </para>
/// <para>
/// Actions: <c>read</c> from IN_ACCESS and IN_CLOSE_NOWRITE (a file opened without write and closed: a read of an
/// empty file too), <c>write</c> from IN_MODIFY and IN_CLOSE_WRITE, <c>metadata</c> from IN_ATTRIB, <c>create</c>,
/// <c>delete</c>, and <c>rename</c> for either side of a move. The same action on the same path within one read of
/// the event queue is one alert. inotify does not say which process acted: alerts say so
/// (<c>attribution: unavailable</c>), and a <c>prevent</c> rule can only report (<c>prevent-unsupported</c>).
/// </para>
/// <para>
/// Exclusions by path are applied here; exclusions by process need attribution (fanotify) and cannot be
/// applied from inotify alone. With <c>allowAppend</c>, a write that only added to the end of the file (its old
/// content unchanged: same SHA-256 over the old length) is not an alert; any other write is, with the file's
/// state before and after. The comparison is with the state last looked at: a rewrite that keeps that much of
/// the start, made before the agent looked again, passes as an append (only fanotify permission events, which
/// stop the writer until checked, could close that window).
/// </para>
/// <para>
/// Where the kernel sensor runs and has the path (or its directory) in its map (<c>changesFromSensor</c>), it reports the
/// changes under <c>alert</c> rules (every path spelling, every replace-by-rename, with the process), and this watcher
/// does not report them again (a file in a directory made a moment ago, before the sensor's map has it, is still
/// reported here): it keeps reads,
/// the writes of <c>allowAppend</c> rules (only the content says whether a write only appended) and <c>prevent</c> rules'
/// changes where the enforcement protects the file (what the sensor reports of those is what the kernel refused); where
/// it could not (a filesystem without the attributes), the sensor reports their changes too, <c>prevent-unsupported</c>,
/// and an unlocked prevent rule's changes stay here.
/// </para>
/// </summary>
public sealed class FimWatcher : IDisposable
{
    private const InotifyMask Events = InotifyMask.Access | InotifyMask.Modify | InotifyMask.Attrib | InotifyMask.CloseWrite | InotifyMask.CloseNoWrite
        | InotifyMask.MovedFrom | InotifyMask.MovedTo | InotifyMask.Create | InotifyMask.Delete | InotifyMask.DeleteSelf | InotifyMask.OnlyDirectory | InotifyMask.ExcludeUnlinked;

    private const FanotifyMask FanotifyEvents = FanotifyMask.OpenPermission | FanotifyMask.Access | FanotifyMask.Modify | FanotifyMask.CloseWrite | FanotifyMask.CloseNoWrite;

    private readonly Inotify _inotify = new();
    private readonly Fanotify? _fanotify;
    private readonly Collectors.UserNames _users;
    private readonly FimRuleMatcher _rules;
    private readonly Dictionary<int, string> _directories = [];
    private readonly Dictionary<string, FileState> _appendOnly = new(StringComparer.Ordinal);
    private readonly Action<IReadOnlyList<FimAlertReport>> _alert;
    private readonly TimeProvider _time;
    private readonly OwnReads _ownReads;
    private readonly ILogger _log;
    private readonly Enforcement.IEnforcement? _enforcement;
    private readonly bool _refuseOpens;
    private readonly Func<FimRule, bool> _unlocked;
    private readonly Action<string>? _appeared;
    private readonly Func<string, bool>? _changesFromSensor;
    private long _overflows, _unwatchable;

    private sealed record FileState(long Size, byte[] Sha256);

    /// <param name="attribute">Use fanotify for reads and writes (with the process) when the agent may; false: inotify only.</param>
    /// <param name="enforcement">
    /// How prevent rules are kept: fanotify refuses opens only when it is the mechanism (or none is given); the
    /// alerts of prevent rules that could not be refused say why (<c>effectReason</c>).
    /// </param>
    /// <param name="unlocked">Whether a prevent rule is unlocked now (an unlock window): nothing refused, its alerts say <c>unlocked</c>.</param>
    /// <param name="appeared">Told of every entry made or moved into a watched directory (enforcement protects new files as they appear).</param>
    /// <param name="users">User names by uid (the agent's shared table; a table of its own when not given).</param>
    /// <param name="changesFromSensor">
    /// Where the kernel sensor runs: whether it sees changes of a path (the path or its directory is in its map). Such
    /// changes under alert rules are the sensor's to report, not reported here again.
    /// </param>
    public FimWatcher(IReadOnlyList<FimRule> rules, Action<IReadOnlyList<FimAlertReport>> alert, TimeProvider time, ILogger log, OwnReads? ownReads = null, bool attribute = true, Enforcement.IEnforcement? enforcement = null, Func<FimRule, bool>? unlocked = null, Action<string>? appeared = null, Collectors.UserNames? users = null, Func<string, bool>? changesFromSensor = null)
    {
        _changesFromSensor = changesFromSensor;
        _users = users ?? new Collectors.UserNames(time);
        _enforcement = enforcement;
        _unlocked = unlocked ?? (_ => false);
        _appeared = appeared;
        _refuseOpens = enforcement is null || enforcement.Mechanism == AgentPreventionMechanism.Fanotify;
        _ownReads = ownReads ?? new OwnReads(time);
        string? noFanotify = "turned off";
        _fanotify = attribute ? Fanotify.TryOpen(out noFanotify) : null;
        NoAttributionReason = _fanotify is null ? $"inotify does not report the process; fanotify is not available ({noFanotify})" : null;
        _alert = alert;
        _time = time;
        _log = log;
        _rules = new FimRuleMatcher(rules);
        foreach (var (rule, problem) in _rules.Skipped)
            _log.LogWarning("FIM rule {RuleId} version {Version} is not watched: {Problem}", rule.Id, rule.Version, problem);
        // The append-only files' states first: once fanotify marks are in, opening them here would wait for a
        // permission that only the reader (not started yet) can give.
        foreach (var rule in _rules.Paths.Where(p => p.Rule.AllowAppend))
            Baseline(rule);
        foreach (var path in _rules.Paths)
            Watch(path.Root, path.Recursive);
    }

    /// <summary>Why reads and writes come without the process (null when fanotify names it).</summary>
    public string? NoAttributionReason { get; }

    /// <summary>Directories watched now.</summary>
    public int WatchedDirectories
    {
        get
        {
            lock (_directories)
                return _directories.Count;
        }
    }

    /// <summary>Times the kernel's event queue overflowed (events lost: each is a coverage gap).</summary>
    public long Overflows => Interlocked.Read(ref _overflows);

    /// <summary>Directories that could not be watched (missing, no permission, out of watches).</summary>
    public long Unwatchable => Interlocked.Read(ref _unwatchable);

    private readonly CancellationTokenSource _disposed = new();
    private Task _reading = Task.CompletedTask;

    /// <summary>Reads and reports events until stopped or disposed; runs on threads of its own (inotify; fanotify when there).</summary>
    public Task RunAsync(CancellationToken stoppingToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _disposed.Token);
        var inotify = Handler(Batches(stop.Token, () => _inotify.Read(200)), Handle);
        var fanotify = _fanotify is { } f ? FanotifyReader(f, stop.Token) : Task.CompletedTask;
        return _reading = Task.WhenAll(inotify, fanotify).ContinueWith(_ => stop.Dispose(), TaskScheduler.Default);
    }

    /// <summary>
    /// fanotify is read on one thread, which only answers opens and hands the events on; they are handled on another.
    /// The handling opens watched files itself (the append check), and an open by the thread that must allow it
    /// would wait for itself forever.
    /// </summary>
    private Task FanotifyReader(Fanotify fanotify, CancellationToken stop)
    {
        var handOver = System.Threading.Channels.Channel.CreateUnbounded<List<FanotifyEvent>>(new() { SingleReader = true, SingleWriter = true });
        var reading = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var events = fanotify.Read(200, Permit);
                if (events.Count > 0)
                    handOver.Writer.TryWrite(events);
            }

            handOver.Writer.Complete();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var handling = Handler(handOver.Reader.ReadAllAsync().ToBlockingEnumerable(), HandleAttributed);
        return Task.WhenAll(reading, handling);
    }

    private static IEnumerable<List<T>> Batches<T>(CancellationToken stop, Func<List<T>> read)
    {
        while (!stop.IsCancellationRequested)
            yield return read();
    }

    /// <summary>Turns batches of events into alerts, on a thread of its own, until the batches end.</summary>
    private Task Handler<T>(IEnumerable<List<T>> batches, Func<List<T>, List<FimAlertReport>> handle) => Task.Factory.StartNew(() =>
    {
        foreach (var events in batches)
        {
            if (events.Count == 0)
                continue;
            try
            {
                var alerts = handle(events);
                if (alerts.Count > 0)
                    _alert(alerts);
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                _log.LogWarning(failure, "FIM events could not be handled");
            }
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// Reads and writes from fanotify, each with the process that made it (the agent's own are not alerts). A process
    /// gone before it could be read leaves its pid only, and the alert says so.
    /// </summary>
    private List<FimAlertReport> HandleAttributed(List<FanotifyEvent> events)
    {
        var seen = new HashSet<(string Path, FimOperation Action, string RuleId, int Pid)>();
        var processes = new Dictionary<int, (FimProcess? Process, ContainerRef? Container)>();
        var alerts = new List<FimAlertReport>();
        foreach (var e in events)
        {
            if (e.Mask.HasFlag(FanotifyMask.QueueOverflow))
            {
                Overflowed("fanotify");
                continue;
            }

            if (e.Path is not { } path || e.Pid == Environment.ProcessId)
                continue;
            if (!processes.TryGetValue(e.Pid, out var who))
                processes[e.Pid] = who = Who(e.Pid);
            if (e.Denied)
            {
                foreach (var rule in _rules.Matching(path, FimOperation.Write, who.Process).Where(r => r.Effect == FimEffect.Prevent))
                {
                    var refused = Attributed(Report(rule, path, FimOperation.Write), who, "the process could not be read");
                    refused.Effect = FimAlertEffect.Prevented;
                    alerts.Add(refused);
                }

                continue;
            }

            var actions = new List<FimOperation>(2);
            if ((e.Mask & (FanotifyMask.Access | FanotifyMask.CloseNoWrite)) != 0)
                actions.Add(FimOperation.Read);
            if ((e.Mask & (FanotifyMask.Modify | FanotifyMask.CloseWrite)) != 0)
                actions.Add(FimOperation.Write);
            foreach (var action in actions)
            {
                foreach (var rule in _rules.Matching(path, action, who.Process))
                {
                    if (FromSensor(rule, path, action) || !seen.Add((path, action, rule.Id, e.Pid)))
                        continue;
                    var report = Attributed(Report(rule, path, action), who, $"the process (pid {e.Pid}) ended before it could be read");
                    if (action == FimOperation.Write && rule.AllowAppend && !IsRewrite(path, report))
                        continue;
                    alerts.Add(report);
                }
            }
        }

        return alerts;
    }

    /// <summary>The alert names the process (and its container), or says why it cannot.</summary>
    private static FimAlertReport Attributed(FimAlertReport report, (FimProcess? Process, ContainerRef? Container) who, string unknownBecause)
    {
        (report.Container, report.Process) = (who.Container, who.Process);
        (report.Attribution, report.AttributionReason) = who.Process is null ? (FimAttribution.Unavailable, unknownBecause) : (FimAttribution.Available, null);
        return report;
    }

    // Who opened watched files lately, read while the opener waited for permission (its reads and writes come after).
    private readonly Dictionary<int, (Collectors.ProcessInfo Process, long At)> _openers = [];

    /// <summary>
    /// An open of a watched file, the opener waiting: it is remembered, and refused when a <c>prevent</c> rule protects
    /// the file from writes and the opener is opening it for writing (its open flags, read from /proc). Reads, and
    /// opens whose intent cannot be read, go through (a write then is reported as <c>prevent-unsupported</c>).
    /// </summary>
    private bool Permit(int pid, string? path)
    {
        Remember(pid);
        if (path is null || pid == Environment.ProcessId || !_refuseOpens)
            return true;
        // Every open of a watched file waits here: most are under no prevent rule, and need nothing more.
        bool Prevented(FimProcess? process) => _rules.Matching(path, FimOperation.Write, process).Any(r => r.Effect == FimEffect.Prevent && !_unlocked(r));
        return !Prevented(null) || !Prevented(Who(pid).Process) || Collectors.OpenIntent.ForWriting(pid, path) != true;
    }

    private void Remember(int pid)
    {
        if (pid == Environment.ProcessId || Collectors.ProcFs.Process(pid) is not { } process)
            return;
        var now = Environment.TickCount64;
        lock (_openers)
        {
            _openers[pid] = (process, now);
            if (_openers.Count > 4096)
            {
                foreach (var stale in _openers.Where(o => now - o.Value.At > 60_000).Select(o => o.Key).ToList())
                    _openers.Remove(stale);
            }
        }
    }

    /// <summary>The kernel's queue overflowed: events were lost, a blind spot the heartbeat counts.</summary>
    private void Overflowed(string queue)
    {
        Interlocked.Increment(ref _overflows);
        _log.LogWarning("The {Queue} queue overflowed: FIM events were lost", queue);
    }

    private (FimProcess? Process, ContainerRef? Container) Who(int pid)
    {
        Collectors.ProcessInfo? process;
        lock (_openers)
            process = _openers.TryGetValue(pid, out var opener) ? opener.Process : null;
        process ??= Collectors.ProcFs.Process(pid);
        if (process is null)
            return (null, null);
        return (new FimProcess
        {
            Pid = pid, Name = process.Name, Executable = process.Executable, CommandLine = process.Args.Count == 0 ? null : string.Join(' ', process.Args),
            Uid = process.Uid, User = _users.Name(process.Uid),
        }, process.ContainerId is { } id ? new ContainerRef { Id = id } : null);
    }

    private List<FimAlertReport> Handle(List<InotifyEvent> events)
    {
        var seen = new HashSet<(string Path, FimOperation Action, string RuleId)>();
        var alerts = new List<FimAlertReport>();
        foreach (var e in events)
        {
            if (e.Mask.HasFlag(InotifyMask.QueueOverflow))
            {
                Overflowed("inotify");
                continue;
            }

            string? directory;
            lock (_directories)
                _directories.TryGetValue(e.Watch, out directory);
            if (directory is null)
                continue;
            if (e.Mask.HasFlag(InotifyMask.Ignored))
            {
                lock (_directories)
                    _directories.Remove(e.Watch);
                continue;
            }

            var path = e.Name.Length == 0 ? directory : Path.Join(directory, e.Name);
            if ((e.Mask & (InotifyMask.Create | InotifyMask.MovedTo)) != 0)
                _appeared?.Invoke(path);
            var isDirectory = e.Mask.HasFlag(InotifyMask.IsDirectory);
            if (isDirectory && (e.Mask & (InotifyMask.Create | InotifyMask.MovedTo)) != 0)
                WatchNewDirectory(path, alerts, seen);
            if (Action(e.Mask, isDirectory) is not { } action || (action == FimOperation.Read && _ownReads.IsOwn(path)))
                continue;
            if (_fanotify is not null && action is FimOperation.Read or FimOperation.Write)
                continue; // fanotify reports these, with the process
            foreach (var rule in _rules.Matching(path, action))
            {
                if (FromSensor(rule, path, action) || !seen.Add((path, action, rule.Id)))
                    continue;
                var report = Report(rule, path, action);
                if (action == FimOperation.Write && rule.AllowAppend && !IsRewrite(path, report))
                    continue;
                alerts.Add(report);
            }
        }

        return alerts;
    }

    /// <summary>Whether the kernel sensor reports this change (and this watcher must not report it again).</summary>
    private bool FromSensor(FimRule rule, string path, FimOperation action) =>
        (rule.Effect == FimEffect.Alert || (rule.Effect == FimEffect.Prevent && !_unlocked(rule) && _enforcement?.Unsupported(path, action) is not null))
        && action != FimOperation.Read && !(action == FimOperation.Write && rule.AllowAppend) && _changesFromSensor?.Invoke(path) == true;

    private static FimOperation? Action(InotifyMask mask, bool isDirectory)
    {
        if ((mask & (InotifyMask.MovedFrom | InotifyMask.MovedTo)) != 0)
            return FimOperation.Rename;
        if (mask.HasFlag(InotifyMask.Create))
            return FimOperation.Create;
        if ((mask & (InotifyMask.Delete | InotifyMask.DeleteSelf)) != 0)
            return FimOperation.Delete;
        if (mask.HasFlag(InotifyMask.Attrib))
            return FimOperation.Metadata;
        if ((mask & (InotifyMask.Modify | InotifyMask.CloseWrite)) != 0)
            return FimOperation.Write;
        if ((mask & (InotifyMask.Access | InotifyMask.CloseNoWrite)) != 0 && !isDirectory)
            return FimOperation.Read; // a directory listed is not a file read
        return null;
    }

    private FimAlertReport Report(FimRule rule, string path, FimOperation action)
    {
        var report = FimRuleMatcher.Alert(rule, path, action, _time.GetUtcNow(), NoAttributionReason ?? "inotify does not report the process of a create, delete, rename or metadata change");
        if (report.Effect == FimAlertEffect.PreventUnsupported && _unlocked(rule))
            (report.Effect, report.Unlocked) = (FimAlertEffect.Alerted, true); // protection lifted on purpose: an unlock window
        else if (report.Effect == FimAlertEffect.PreventUnsupported)
            report.EffectReason = _enforcement?.Unsupported(path, action);
        return report;
    }

    /// <summary>
    /// For an append-only file: true (and the states before and after in the report) unless the file only grew
    /// with its old content intact. The file's state moves on either way.
    /// </summary>
    private bool IsRewrite(string path, FimAlertReport report)
    {
        _ownReads.Mark(path);
        var after = State(path);
        FileState? before;
        lock (_appendOnly)
        {
            _appendOnly.TryGetValue(path, out before);
            if (after is null)
                _appendOnly.Remove(path);
            else
                _appendOnly[path] = after;
        }

        if (before is not null && after is not null && after.Size >= before.Size && PrefixHash(path, before.Size) is { } prefix && prefix.AsSpan().SequenceEqual(before.Sha256))
            return false;
        report.Before = before is null ? null : new FimFileState { Size = before.Size, Sha256 = Convert.ToHexStringLower(before.Sha256) };
        report.After = after is null ? null : new FimFileState { Size = after.Size, Sha256 = Convert.ToHexStringLower(after.Sha256) };
        return true;
    }

    private static FileState? State(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return new FileState(file.Length, SHA256.HashData(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static byte[]? PrefixHash(string path, long length)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[81920];
            var left = length;
            while (left > 0)
            {
                var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                    return null;
                hash.AppendData(buffer, 0, read);
                left -= read;
            }

            return hash.GetHashAndReset();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Baseline(FimRuleMatcher.WatchedPath watched)
    {
        // The root is always a directory (a file rule's is the file's directory); Covers picks the rule's files in it.
        IEnumerable<string> files = Directory.Exists(watched.Root)
            ? Directory.EnumerateFiles(watched.Root, "*", new EnumerationOptions { RecurseSubdirectories = watched.Recursive, IgnoreInaccessible = true })
            : [];
        foreach (var file in files.Where(watched.Covers))
        {
            _ownReads.Mark(file);
            if (State(file) is { } state)
            {
                lock (_appendOnly)
                    _appendOnly[file] = state;
            }
        }
    }

    /// <summary>
    /// A directory made (or moved) under a recursive rule, or one a rule names that was not there before: watched, and
    /// what is already in it reported as created.
    /// </summary>
    private void WatchNewDirectory(string path, List<FimAlertReport> alerts, HashSet<(string, FimOperation, string)> seen)
    {
        if (!_rules.Paths.Any(p => (p.Recursive && (path.StartsWith(p.Root + "/", StringComparison.Ordinal) || p.Root == "/")) || p.Covers(path)))
            return;
        Watch(path, recursive: true);
        // Entries made before the watch was in place would otherwise go unseen.
        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
        {
            foreach (var rule in _rules.Matching(entry, FimOperation.Create))
            {
                if (!FromSensor(rule, entry, FimOperation.Create) && seen.Add((entry, FimOperation.Create, rule.Id)))
                    alerts.Add(Report(rule, entry, FimOperation.Create));
            }
        }
    }

    /// <summary>Entries a glob's existence check looks at, at most (every heartbeat asks): beyond, the glob is taken as matching nothing.</summary>
    public const int MaxEntriesLookedAt = 10_000;

    /// <summary>
    /// Each path of each rule watched, in rule and path order (at most <paramref name="max"/>), and what is there now:
    /// <c>watched</c> when it exists and the directory it is watched through is watched, <c>unwatchable</c> when it
    /// exists but that directory could not be watched, <c>missing</c> when nothing is there (a glob: nothing matches).
    /// The PCI report's evidence that log files are watched where they really are.
    /// </summary>
    public List<AgentFimPathStatus> PathStates(int max)
    {
        HashSet<string> watched;
        lock (_directories)
            watched = _directories.Values.ToHashSet(StringComparer.Ordinal);
        return _rules.Paths
            .OrderBy(p => p.Rule.Id, StringComparer.Ordinal).ThenBy(p => p.Spec, StringComparer.Ordinal)
            .Take(max)
            .Select(p => new AgentFimPathStatus
            {
                RuleId = p.Rule.Id,
                RuleVersion = p.Rule.Version,
                Path = p.Spec,
                State = !Exists(p) ? AgentFimPathState.Missing : watched.Contains(p.Root) ? AgentFimPathState.Watched : AgentFimPathState.Unwatchable,
            })
            .ToList();
    }

    private static bool Exists(FimRuleMatcher.WatchedPath path)
    {
        if (path.Spec.IndexOfAny(['*', '?', '[']) < 0)
            return File.Exists(path.Spec) || Directory.Exists(path.Spec);
        return Directory.Exists(path.Root)
            && Directory.EnumerateFileSystemEntries(path.Root, "*", new EnumerationOptions { RecurseSubdirectories = path.Recursive, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
                .Take(MaxEntriesLookedAt)
                .Any(path.Covers);
    }

    private void Watch(string root, bool recursive)
    {
        Add(root);
        if (!recursive || !Directory.Exists(root))
            return;
        foreach (var directory in Directory.EnumerateDirectories(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            Add(directory);
    }

    private void Add(string directory)
    {
        var (watch, error) = _inotify.Add(directory, Events);
        if (watch < 0)
        {
            Interlocked.Increment(ref _unwatchable);
            _log.LogWarning("Cannot watch {Directory} (errno {Error})", directory, error);
            return;
        }

        lock (_directories)
            _directories[watch] = directory;
        if (_fanotify?.Mark(directory, FanotifyEvents) is { } refused and not 0)
            _log.LogWarning("Cannot mark {Directory} for fanotify (errno {Error}): its reads and writes are not reported", directory, refused);
    }

    /// <summary>
    /// Stops reading before the descriptor is closed: a reader still polling a closed descriptor would read from
    /// whatever the number is given to next (another watcher's inotify instance) and take its events.
    /// </summary>
    public void Dispose()
    {
        _disposed.Cancel();
        _reading.Wait();
        _inotify.Dispose();
        _fanotify?.Dispose();
        _disposed.Dispose();
    }
}

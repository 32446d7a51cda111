namespace Platform.Agent.Fim;

/// <summary>
/// Watches the paths of FIM rules and turns what happens to them into alerts: inotify for every action, and fanotify,
/// where the agent may use it (CAP_SYS_ADMIN), for reads and writes with the process that made them
/// (FimWatcher.Fanotify.cs).
/// <para>
/// Directories are watched, never single files: the events of a directory's entries name the entry, so a file
/// replaced by a rename (as editors save), deleted and created again stays watched. A file rule watches its
/// directory; a directory rule the directory (and every directory below it when recursive, including ones made
/// later); a glob the directories its fixed part leads to (FimWatcher.Paths.cs). Events are matched back to rules by path.
/// </para>
/// <para>
/// Actions: <c>read</c> from IN_ACCESS and IN_CLOSE_NOWRITE (a file opened without write and closed: a read of an
/// empty file too), <c>write</c> from IN_MODIFY and IN_CLOSE_WRITE (fanotify's events of the same names when it runs),
/// <c>metadata</c> from IN_ATTRIB, <c>create</c>, <c>delete</c>, and <c>rename</c> for either side of a move. The same
/// action on the same path (by the same process, with fanotify) within one read of the event queue is one alert;
/// one write can be seen in more than one read (a program's truncate, write and close are three events): its alerts
/// carry the time of the read, so that <see cref="AlertFold"/> still makes the process's write one attempt however
/// far handling fell behind, while inotify's (no process) make more than one alert. inotify does not say which process acted: its alerts say so (<c>attribution:
/// unavailable</c>, with why). With fanotify, opens of watched files wait for the agent: a prevent rule's file opened
/// for writing is refused (<c>prevented</c>) when fanotify is the enforcement; otherwise the enforcement (inode
/// attributes) keeps the file, and a change it could not stop is reported <c>prevent-unsupported</c> with why.
/// </para>
/// <para>
/// Exclusions by path apply to every alert; exclusions by process to those with a process (fanotify's). With
/// <c>allowAppend</c>, a write that only added to the end of the file is not an alert; any other write is, with the
/// file's state before and after (<see cref="AppendOnlyFiles"/>).
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
public sealed partial class FimWatcher : IDisposable
{
    private const InotifyMask Events = InotifyMask.Access | InotifyMask.Modify | InotifyMask.Attrib | InotifyMask.CloseWrite | InotifyMask.CloseNoWrite
        | InotifyMask.MovedFrom | InotifyMask.MovedTo | InotifyMask.Create | InotifyMask.Delete | InotifyMask.DeleteSelf | InotifyMask.OnlyDirectory | InotifyMask.ExcludeUnlinked;

    private const FanotifyMask FanotifyEvents = FanotifyMask.OpenPermission | FanotifyMask.Access | FanotifyMask.Modify | FanotifyMask.CloseWrite | FanotifyMask.CloseNoWrite;

    private readonly Inotify _inotify = new();
    private readonly Fanotify? _fanotify;
    private readonly Collectors.UserNames _users;
    private readonly FanotifyOpeners _openers;
    private readonly FimRuleMatcher _rules;
    private readonly Dictionary<int, string> _directories = [];
    private readonly Action<IReadOnlyList<FimAlertReport>> _alert;
    private readonly TimeProvider _time;
    private readonly OwnReads _ownReads;
    private readonly AppendOnlyFiles _appendOnly;
    private readonly ILogger _log;
    private readonly Enforcement.IEnforcement? _enforcement;
    private readonly bool _refuseOpens;
    private readonly Func<FimRule, bool> _unlocked;
    private readonly Action<string>? _appeared;
    private readonly Func<string, bool>? _changesFromSensor;
    private long _overflows, _unwatchable;

    /// <param name="attribute">Use fanotify for reads and writes (with the process) when the agent may; false: inotify only.</param>
    /// <param name="enforcement">
    /// How prevent rules are kept: fanotify refuses opens only when it is the mechanism (or none is given); the
    /// alerts of prevent rules that could not be refused say why (<c>effectReason</c>).
    /// </param>
    /// <param name="unlocked">Whether a prevent rule is unlocked now (an unlock window): nothing refused, its alerts say <c>unlocked</c>.</param>
    /// <param name="appeared">Told of every entry made or moved into a watched directory (enforcement protects new files as they appear).</param>
    /// <param name="users">User names by uid (the agent's shared table; a table of its own when not given).</param>
    /// <param name="openers">Who opened watched files lately (shared with the watcher before and after this one; its own when not given).</param>
    /// <param name="changesFromSensor">
    /// Where the kernel sensor runs: whether it sees changes of a path (the path or its directory is in its map). Such
    /// changes under alert rules are the sensor's to report, not reported here again.
    /// </param>
    public FimWatcher(IReadOnlyList<FimRule> rules, Action<IReadOnlyList<FimAlertReport>> alert, TimeProvider time, ILogger log, OwnReads? ownReads = null, bool attribute = true, Enforcement.IEnforcement? enforcement = null, Func<FimRule, bool>? unlocked = null, Action<string>? appeared = null, Collectors.UserNames? users = null, Func<string, bool>? changesFromSensor = null, FanotifyOpeners? openers = null)
    {
        _openers = openers ?? new FanotifyOpeners();
        _changesFromSensor = changesFromSensor;
        _users = users ?? new Collectors.UserNames(time);
        _enforcement = enforcement;
        _unlocked = unlocked ?? (_ => false);
        _appeared = appeared;
        _refuseOpens = enforcement is null || enforcement.Mechanism == AgentPreventionMechanism.Fanotify;
        _ownReads = ownReads ?? new OwnReads(time);
        _appendOnly = new AppendOnlyFiles(_ownReads);
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
            _appendOnly.Baseline(rule);
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
    /// Events as one read of the kernel's queue returned them, and when: their alerts carry that time, not the time they
    /// were handled. Handling can fall behind on a busy host, and one write read in two batches (its modify, then its
    /// close) must still be one attempt to <see cref="AlertFold"/>, whose window is measured in alert times.
    /// </summary>
    private readonly record struct Batch<T>(DateTimeOffset ReadAt, List<T> Events);

    private IEnumerable<Batch<T>> Batches<T>(CancellationToken stop, Func<List<T>> read)
    {
        while (!stop.IsCancellationRequested)
        {
            var events = read();
            yield return new Batch<T>(_time.GetUtcNow(), events);
        }
    }

    /// <summary>Turns batches of events into alerts, on a thread of its own, until the batches end.</summary>
    private Task Handler<T>(IEnumerable<Batch<T>> batches, Func<Batch<T>, List<FimAlertReport>> handle) => Task.Factory.StartNew(() =>
    {
        foreach (var batch in batches)
        {
            if (batch.Events.Count == 0)
                continue;
            try
            {
                var alerts = handle(batch);
                if (alerts.Count > 0)
                    _alert(alerts);
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                _log.LogWarning(failure, "FIM events could not be handled");
            }
        }
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>The kernel's queue overflowed: events were lost, a blind spot the heartbeat counts.</summary>
    private void Overflowed(string queue)
    {
        Interlocked.Increment(ref _overflows);
        _log.LogWarning("The {Queue} queue overflowed: FIM events were lost", queue);
    }

    private List<FimAlertReport> Handle(Batch<InotifyEvent> batch)
    {
        var seen = new HashSet<(string Path, FimOperation Action, string RuleId)>();
        var alerts = new List<FimAlertReport>();
        foreach (var e in batch.Events)
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
                WatchNewDirectory(path, batch.ReadAt, alerts, seen);
            if (Action(e.Mask, isDirectory) is not { } action || (action == FimOperation.Read && _ownReads.IsOwn(path)))
                continue;
            if (_fanotify is not null && action is FimOperation.Read or FimOperation.Write)
                continue; // fanotify reports these, with the process
            foreach (var rule in _rules.Matching(path, action))
            {
                if (FromSensor(rule, path, action) || !seen.Add((path, action, rule.Id)))
                    continue;
                var report = Report(rule, path, action, batch.ReadAt);
                if (action == FimOperation.Write && rule.AllowAppend && !_appendOnly.IsRewrite(path, report))
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

    private FimAlertReport Report(FimRule rule, string path, FimOperation action, DateTimeOffset time)
    {
        var report = FimRuleMatcher.Alert(rule, path, action, time, NoAttributionReason ?? "inotify does not report the process of a create, delete, rename or metadata change");
        if (report.Effect == FimAlertEffect.PreventUnsupported && _unlocked(rule))
            (report.Effect, report.Unlocked) = (FimAlertEffect.Alerted, true); // protection lifted on purpose: an unlock window
        else if (report.Effect == FimAlertEffect.PreventUnsupported)
            report.EffectReason = _enforcement?.Unsupported(path, action);
        return report;
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

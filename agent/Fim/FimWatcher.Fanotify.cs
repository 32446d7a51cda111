namespace Platform.Agent.Fim;

/// <summary>
/// The watcher's fanotify side (when the agent may use it): reads and writes with the process that made them, and opens
/// of watched files held until the agent answered (refused for a prevent rule's file opened for writing).
/// </summary>
public sealed partial class FimWatcher
{
    /// <summary>
    /// fanotify is read on one thread, which only answers opens and hands the events on; they are handled on another.
    /// The handling opens watched files itself (the append check), and an open by the thread that must allow it
    /// would wait for itself forever.
    /// </summary>
    private Task FanotifyReader(Fanotify fanotify, CancellationToken stop)
    {
        var handOver = System.Threading.Channels.Channel.CreateUnbounded<Batch<FanotifyEvent>>(new() { SingleReader = true, SingleWriter = true });
        var reading = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var events = fanotify.Read(200, Permit);
                if (events.Count > 0)
                    handOver.Writer.TryWrite(new Batch<FanotifyEvent>(_time.GetUtcNow(), events));
            }

            // Opens queued before the stop are answered through Permit (the opener is remembered for the next watcher,
            // FanotifyOpeners), not let through unread when the descriptor closes.
            var last = fanotify.Read(0, Permit);
            if (last.Count > 0)
                handOver.Writer.TryWrite(new Batch<FanotifyEvent>(_time.GetUtcNow(), last));
            handOver.Writer.Complete();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var handling = Handler(handOver.Reader.ReadAllAsync().ToBlockingEnumerable(), HandleAttributed);
        return Task.WhenAll(reading, handling);
    }

    /// <summary>
    /// Reads and writes from fanotify, each with the process that made it (the agent's own are not alerts). A process
    /// gone before it could be read leaves its pid only, and the alert says so.
    /// </summary>
    private List<FimAlertReport> HandleAttributed(Batch<FanotifyEvent> batch)
    {
        var seen = new HashSet<(string Path, FimOperation Action, string RuleId, int Pid)>();
        var processes = new Dictionary<int, (FimProcess? Process, ContainerRef? Container)>();
        var alerts = new List<FimAlertReport>();
        foreach (var e in batch.Events)
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
                    var refused = Attributed(Report(rule, path, FimOperation.Write, batch.ReadAt), who, "the process could not be read");
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
                    var report = Attributed(Report(rule, path, action, batch.ReadAt), who, $"the process (pid {e.Pid}) ended before it could be read");
                    if (action == FimOperation.Write && rule.AllowAppend && !_appendOnly.IsRewrite(path, report))
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
        if (pid != Environment.ProcessId && Collectors.ProcFs.Process(pid) is { } process)
            _openers.Remember(process);
    }

    private (FimProcess? Process, ContainerRef? Container) Who(int pid)
    {
        var process = _openers.Find(pid) ?? Collectors.ProcFs.Process(pid);
        if (process is null)
            return (null, null);
        return (new FimProcess
        {
            Pid = pid, Name = process.Name, Executable = process.Executable, CommandLine = process.Args.Count == 0 ? null : string.Join(' ', process.Args),
            Uid = process.Uid, User = _users.Name(process.Uid),
        }, process.ContainerId is { } id ? new ContainerRef { Id = id } : null);
    }
}

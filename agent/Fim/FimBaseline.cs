using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;

namespace Platform.Agent.Fim;

/// <summary>
/// Baseline integrity (PCI DSS 11.5): a SHA-256 baseline of every file the rules protect (rules that watch
/// writes, deletes or metadata), kept in <c>&lt;state-dir&gt;/fim-baseline.json</c> so that it outlives the agent.
/// The files are compared with it when the first policy arrives (so a change made while the agent was down is
/// found), when the policy changes, and every <see cref="AgentOptions.BaselineHours"/> (weekly by default).
/// <list type="bullet">
/// <item>Each comparison is reported to the api (<c>fim-baseline-checks</c>: match, changed, missing, unreadable):
/// one check per file, and one per path of the rule (a directory or glob: the worst of its files; <c>missing</c>
/// when nothing is there), which is what the PCI report lists. A difference says how it was detected
/// (<c>change</c>: live, comparison, permitted-append).</item>
/// <item>A difference that an alert raised live since accounts for (<see cref="Saw"/>: every alert the policy service
/// records) moves the baseline on without a second alert. A file of an <c>allowAppend</c> rule that only grew (the
/// SHA-256 of its first <c>Size</c> bytes now is the baseline's) is no alert either.</item>
/// <item>Any other difference is an alert (write for content, metadata for the mode or a new hard link, delete for a
/// file gone) with the states before and after, once: the baseline then takes the file as it is now. Such an alert
/// cannot say who changed the file: its reason says what the agent knows of why nobody saw it.</item>
/// </list>
/// A file first seen is taken into the baseline (and reported as matching it). Symbolic links under a rule's path are
/// compared as links (their target), never followed.
/// </summary>
public sealed partial class FimBaseline : BackgroundService
{
    /// <summary>How every reason of an alert raised by a comparison begins.</summary>
    public const string FoundByComparison = "found by comparing the file with its baseline";

    /// <summary>Files compared per rule path at most (a rule over a huge tree is compared that far, and the log says so).</summary>
    public const int MaxFilesPerPath = 100_000;

    /// <summary>Live alerts remembered at most between two comparisons (one per rule, path and operation).</summary>
    public const int MaxLiveMarks = 100_000;

    /// <summary>The live-alert journal is rewritten from memory when it grows past this.</summary>
    private const long MaxJournalBytes = 4 << 20;

    private static readonly FimOperation[] Protecting = [FimOperation.Write, FimOperation.Delete, FimOperation.Metadata];

    /// <summary>The live alerts that account for each kind of difference (a replacement by rename or a new file accounts for content and mode).</summary>
    private static readonly FimOperation[] ContentSeenBy = [FimOperation.Write, FimOperation.Create, FimOperation.Rename];
    private static readonly FimOperation[] MetadataSeenBy = [FimOperation.Metadata, FimOperation.Create, FimOperation.Rename];
    private static readonly FimOperation[] DeleteSeenBy = [FimOperation.Delete, FimOperation.Rename];

    private readonly Spool _spool;
    private readonly FimPolicyService _fim;
    private readonly OwnReads _ownReads;
    private readonly CredentialStore _credentials;
    private readonly IHttpClientFactory _clients;
    private readonly AgentOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FimBaseline> _log;
    private readonly DateTimeOffset _started;
    private readonly Dictionary<string, LiveMark> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _journaled = new(StringComparer.Ordinal);
    private bool _liveLoaded;
    private long _liveDropped;
    private long _overflowsSeen;

    public FimBaseline(Spool spool, FimPolicyService fim, OwnReads ownReads, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, TimeProvider time, ILogger<FimBaseline> log)
    {
        (_spool, _fim, _ownReads, _credentials, _clients, _options, _time, _log) = (spool, fim, ownReads, credentials, clients, options, time, log);
        _started = time.GetUtcNow();
        // Subscribed before any service starts: no live alert can come before it.
        if (options.BaselineHours > 0)
            fim.Alerted += Saw;
    }

    private string FilePath => Path.Combine(_options.StateDirectory, "fim-baseline.json");

    private string JournalPath => Path.Combine(_options.StateDirectory, "fim-baseline-live.jsonl");

    /// <summary>Comparisons made so far.</summary>
    public long Comparisons { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.BaselineHours <= 0)
            return;
        var credential = await _credentials.GetAsync(stoppingToken);
        var client = new PlatformClient(_clients.CreateClient(PlatformHttp.Api));
        IReadOnlyList<FimRule>? compared = null;
        // The schedule runs on the monotonic clock: a wall clock set back a year must not put the next comparison a year off.
        var comparedAt = 0L;
        var every = TimeSpan.FromHours(_options.BaselineHours);
        while (!stoppingToken.IsCancellationRequested)
        {
            var rules = _fim.Rules;
            if (rules is not null && (!ReferenceEquals(rules, compared) || _time.GetElapsedTime(comparedAt) >= every))
            {
                (compared, comparedAt) = (rules, _time.GetTimestamp());
                try
                {
                    var (checks, alerts) = Compare(rules);
                    if (alerts.Count > 0)
                        _spool.Record(alerts);
                    foreach (var chunk in checks.Chunk(1000))
                        await ReportAsync(client, credential.AgentId, chunk, stoppingToken);
                    _log.LogInformation("FIM baseline: {Checks} comparisons, {Changes} changes alerted", checks.Count, alerts.Count);
                }
                catch (Exception failure) when (failure is not OperationCanceledException)
                {
                    // Never the end of the agent: the next policy change or the schedule tries again.
                    _log.LogError(failure, "FIM baseline comparison failed");
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken);
        }
    }

    private async Task ReportAsync(PlatformClient client, string agentId, FimBaselineCheck[] checks, CancellationToken stoppingToken)
    {
        // The comparison is redone at the next start anyway; until then, keep trying (the api may be down).
        for (var pause = TimeSpan.FromSeconds(1); ; pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMinutes(5).Ticks)))
        {
            try
            {
                await client.PushFimBaselineChecksAsync(new FimBaselineCheckBatch { Checks = checks }, agentId, stoppingToken);
                return;
            }
            catch (Exception failure) when (!stoppingToken.IsCancellationRequested && DeliveryService.IsPassing(failure))
            {
                _log.LogWarning("FIM baseline checks not reported ({Reason}); trying again in {Pause}", failure.Message, pause);
                await Task.Delay(pause, _time, stoppingToken);
            }
        }
    }

    /// <summary>
    /// Alerts raised live (the policy service's, as they go to the spool): each file's latest per rule and operation is
    /// remembered, in memory and in a journal beside the baseline (a restart before the next comparison keeps them).
    /// Reads and refused attempts changed nothing and are not kept.
    /// </summary>
    public void Saw(IReadOnlyList<FimAlertReport> alerts)
    {
        lock (_live)
        {
            LoadLive();
            List<LiveMark>? journal = null;
            foreach (var alert in alerts)
            {
                if (alert.Action == FimOperation.Read || alert.Effect == FimAlertEffect.Prevented)
                    continue;
                var mark = new LiveMark(alert.RuleId, alert.Path, alert.Action.ToString(), alert.Id, alert.Time);
                var key = LiveKey(mark.RuleId, mark.Path, alert.Action);
                if (_live.TryGetValue(key, out var known) && known.Time >= mark.Time)
                    continue;
                if (known is null && _live.Count >= MaxLiveMarks)
                {
                    _liveDropped++;
                    continue;
                }

                _live[key] = mark;
                // A file changed many times a second: the journal takes its latest once a second (memory has every one).
                if (!_journaled.TryGetValue(key, out var written) || mark.Time - written >= TimeSpan.FromSeconds(1))
                    (journal ??= []).Add(mark);
            }

            if (journal is not null)
                Journal(journal);
        }
    }

    /// <summary>Compares every protected file with the stored baseline, and stores the new one.</summary>
    public (List<FimBaselineCheck> Checks, List<FimAlertReport> Alerts) Compare(IReadOnlyList<FimRule> rules)
    {
        var stored = Load();
        var next = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
        var checks = new List<FimBaselineCheck>();
        var alerts = new List<FimAlertReport>();
        var now = _time.GetUtcNow();
        var blind = Blindness();
        Dictionary<string, LiveMark> used;
        lock (_live)
        {
            LoadLive();
            used = new Dictionary<string, LiveMark>(_live, StringComparer.Ordinal);
        }

        foreach (var watched in new FimRuleMatcher(rules).Paths.Where(p => p.Rule.Operations.Intersect(Protecting).Any()))
        {
            var rule = watched.Rule;
            var found = new HashSet<string>(StringComparer.Ordinal);
            var first = checks.Count;
            foreach (var file in Files(watched))
            {
                found.Add(file);
                var key = Key(rule.Id, file);
                stored.TryGetValue(key, out var before);
                _ownReads.Mark(file);
                var appendable = rule.AllowAppend && before is { Link: null };
                if (Read(file, appendable ? before!.Size : null, now) is not { } state)
                {
                    if (before is not null)
                        next[key] = before; // compared again next time
                    checks.Add(Check(rule, file, FimBaselineResult.Unreadable, now));
                    continue;
                }

                var (after, prefix, modified) = state;
                next[key] = after;
                if (before is null)
                {
                    checks.Add(Check(rule, file, FimBaselineResult.Match, now));
                    continue;
                }

                var content = before.Sha256 != after.Sha256 || before.Size != after.Size || before.Link != after.Link;
                var appended = content && appendable && after.Link is null && after.Size > before.Size && prefix == before.Sha256;
                var hardLinked = after.Links > 1 && before.Links is not null && (before.Links != after.Links || before.Inode != after.Inode || before.Device != after.Device);
                var metadata = before.Mode != after.Mode || hardLinked;
                var action = content && !appended ? FimOperation.Write : metadata ? FimOperation.Metadata : (FimOperation?)null;
                if (action is not { } changed)
                {
                    var check = Check(rule, file, FimBaselineResult.Match, now);
                    if (appended)
                        check.Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.PermittedAppend, At = now, Action = FimOperation.Write };
                    checks.Add(check);
                    continue;
                }

                var difference = Check(rule, file, FimBaselineResult.Changed, now);
                checks.Add(difference);
                if (!rule.Operations.Contains(changed))
                    continue; // a change of something the rule does not watch: not alerted, by nobody
                var live = Seen(used, rule.Id, file, changed == FimOperation.Write ? ContentSeenBy : MetadataSeenBy);
                // Seen live, unless the content was written again after the last live alert that accounts for it.
                if (live is not null && !(changed == FimOperation.Write && modified > live.Time))
                {
                    difference.Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Live, At = live.Time, Action = changed };
                    continue;
                }

                difference.Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Comparison, At = now, Action = changed };
                var why = Unseen(before, live, modified, blind)
                    + (hardLinked && changed == FimOperation.Metadata && before.Mode == after.Mode ? $"; the file now has {after.Links} names (hard links)" : "")
                    + (after.Link is not null && before.Link != after.Link ? $"; it is now a symbolic link to {after.Link}" : "");
                alerts.Add(Alert(rule, file, changed, before, after, now, why));
            }

            // In the baseline, not there now: gone (unless a rule's exclusion or the cap hides it, it is not "found").
            var prefixKey = rule.Id + "\n";
            foreach (var (key, before) in stored.Where(s => s.Key.StartsWith(prefixKey, StringComparison.Ordinal)))
            {
                var file = key[prefixKey.Length..];
                if (found.Contains(file) || !watched.Covers(file) || next.ContainsKey(key) || File.Exists(file))
                    continue;
                var missing = Check(rule, file, FimBaselineResult.Missing, now);
                checks.Add(missing);
                if (!rule.Operations.Contains(FimOperation.Delete))
                    continue;
                if (Seen(used, rule.Id, file, DeleteSeenBy) is { } live)
                {
                    missing.Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Live, At = live.Time, Action = FimOperation.Delete };
                    continue;
                }

                missing.Change = new FimBaselineChange { Seen = FimBaselineChangeSeen.Comparison, At = now, Action = FimOperation.Delete };
                alerts.Add(Alert(rule, file, FimOperation.Delete, before, null, now, Unseen(before, null, null, blind)));
            }

            var own = checks.Skip(first).ToList();
            if (checks.Count == first || checks[first].Path != watched.Spec)
            {
                var path = Check(rule, watched.Spec, Worst(own.Select(c => c.Result).ToHashSet(), watched), now);
                path.Change = own.Select(c => c.Change).Where(c => c is not null).OrderBy(c => c!.Seen switch
                {
                    FimBaselineChangeSeen.Comparison => 0,
                    FimBaselineChangeSeen.Live => 1,
                    _ => 2,
                }).ThenByDescending(c => c!.At).FirstOrDefault();
                checks.Add(path);
            }
        }

        Save(next);
        Used(used);
        Comparisons++;
        return (checks, alerts);
    }

    // Unreadable: every file is taken into a new baseline (and reported as compared); the old file is kept aside.
    private Dictionary<string, BaselineEntry> Load() =>
        StateFile.Read(FilePath, AgentJsonContext.Default.DictionaryStringBaselineEntry, _ => _log.LogError("The FIM baseline {Path} cannot be read; a new one is taken", FilePath)) ?? [];

    private void Save(Dictionary<string, BaselineEntry> baseline) => StateFile.Write(FilePath, baseline, AgentJsonContext.Default.DictionaryStringBaselineEntry);
}

using System.Security.Cryptography;
using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;
using Platform.Contracts;

namespace Platform.Agent.Fim;

/// <summary>A protected file as it was last compared: its content's SHA-256, size and permission bits.</summary>
public sealed record BaselineEntry(string Sha256, long Size, string Mode);

/// <summary>
/// Baseline integrity (PCI DSS 11.5): a SHA-256 baseline of every file the rules protect (rules that watch
/// writes, deletes or metadata), kept in <c>&lt;state-dir&gt;/fim-baseline.json</c> so that it outlives the agent.
/// The files are compared with it when the first policy arrives (so a change made while the agent was down is
/// found), when the policy changes, and every <see cref="AgentOptions.BaselineHours"/> (weekly by default).
/// <list type="bullet">
/// <item>Each comparison is reported to the api (<c>fim-baseline-checks</c>: match, changed, missing, unreadable):
/// one check per file, and one per path of the rule (a directory or glob: the worst of its files; <c>missing</c>
/// when nothing is there), which is what the PCI report lists.</item>
/// <item>A difference is an alert (write for content, metadata for the mode only, delete for a file gone) with
/// the states before and after, once: the baseline then takes the file as it is now. Such an alert cannot say
/// who changed the file: it says when it was found and why it has no process.</item>
/// </list>
/// A file first seen is taken into the baseline (and reported as matching it).
/// </summary>
public sealed class FimBaseline(Spool spool, FimPolicyService fim, OwnReads ownReads, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, TimeProvider time, ILogger<FimBaseline> log)
    : BackgroundService
{
    public const string FoundByComparison = "found by comparing the file with its baseline: the change was made while it was not watched (agent down or between scans)";

    /// <summary>Files compared per rule path at most (a rule over a huge tree is compared that far, and the log says so).</summary>
    public const int MaxFilesPerPath = 100_000;

    private static readonly FimOperation[] Protecting = [FimOperation.Write, FimOperation.Delete, FimOperation.Metadata];

    private string FilePath => Path.Combine(options.StateDirectory, "fim-baseline.json");

    /// <summary>Comparisons made so far.</summary>
    public long Comparisons { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.BaselineHours <= 0)
            return;
        var credential = await credentials.GetAsync(stoppingToken);
        var client = new PlatformClient(clients.CreateClient(PlatformHttp.Api));
        IReadOnlyList<FimRule>? compared = null;
        var due = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var rules = fim.Rules;
            if (rules is not null && (!ReferenceEquals(rules, compared) || time.GetUtcNow() >= due))
            {
                (compared, due) = (rules, time.GetUtcNow().AddHours(options.BaselineHours));
                try
                {
                    var (checks, alerts) = Compare(rules);
                    if (alerts.Count > 0)
                        spool.Record(alerts);
                    foreach (var chunk in checks.Chunk(1000))
                        await ReportAsync(client, credential.AgentId, chunk, stoppingToken);
                    log.LogInformation("FIM baseline: {Checks} comparisons, {Changes} changes alerted", checks.Count, alerts.Count);
                }
                catch (Exception failure) when (failure is not OperationCanceledException)
                {
                    // Never the end of the agent: the next policy change or the schedule tries again.
                    log.LogError(failure, "FIM baseline comparison failed");
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
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
                log.LogWarning("FIM baseline checks not reported ({Reason}); trying again in {Pause}", failure.Message, pause);
                await Task.Delay(pause, time, stoppingToken);
            }
        }
    }

    /// <summary>Compares every protected file with the stored baseline, and stores the new one.</summary>
    public (List<FimBaselineCheck> Checks, List<FimAlertReport> Alerts) Compare(IReadOnlyList<FimRule> rules)
    {
        var stored = Load();
        var next = new Dictionary<string, BaselineEntry>(StringComparer.Ordinal);
        var checks = new List<FimBaselineCheck>();
        var alerts = new List<FimAlertReport>();
        var now = time.GetUtcNow();
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
                ownReads.Mark(file);
                var after = Read(file);
                if (after is null)
                {
                    if (before is not null)
                        next[key] = before; // compared again next time
                    checks.Add(Check(rule, file, FimBaselineResult.Unreadable, now));
                    continue;
                }

                next[key] = after;
                var action = before is null || before == after ? (FimOperation?)null
                    : before.Sha256 == after.Sha256 && before.Size == after.Size ? FimOperation.Metadata : FimOperation.Write;
                checks.Add(Check(rule, file, action is null ? FimBaselineResult.Match : FimBaselineResult.Changed, now));
                if (action is { } changed && rule.Operations.Contains(changed))
                    alerts.Add(Alert(rule, file, changed, before, after, now));
            }

            // In the baseline, not there now: gone (unless a rule's exclusion or the cap hides it, it is not "found").
            var prefix = rule.Id + "\n";
            foreach (var (key, before) in stored.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal)))
            {
                var file = key[prefix.Length..];
                if (found.Contains(file) || !watched.Covers(file) || next.ContainsKey(key) || File.Exists(file))
                    continue;
                checks.Add(Check(rule, file, FimBaselineResult.Missing, now));
                if (rule.Operations.Contains(FimOperation.Delete))
                    alerts.Add(Alert(rule, file, FimOperation.Delete, before, null, now));
            }

            var results = checks.Skip(first).Select(c => c.Result).ToHashSet();
            if (checks.Count == first || checks[first].Path != watched.Spec)
                checks.Add(Check(rule, watched.Spec, Worst(results, watched), now));
        }

        Save(next);
        Comparisons++;
        return (checks, alerts);
    }

    /// <summary>A rule path's result: the worst of its files' (changed, missing, unreadable, match); missing when there is nothing.</summary>
    private static FimBaselineResult Worst(HashSet<FimBaselineResult> results, FimRuleMatcher.WatchedPath watched) =>
        results.Count == 0
            ? Directory.Exists(watched.Spec) ? FimBaselineResult.Match : FimBaselineResult.Missing
            : new[] { FimBaselineResult.Changed, FimBaselineResult.Missing, FimBaselineResult.Unreadable }.FirstOrDefault(results.Contains, FimBaselineResult.Match);

    private IEnumerable<string> Files(FimRuleMatcher.WatchedPath watched)
    {
        if (!Directory.Exists(watched.Root))
            return [];
        var files = Directory.EnumerateFiles(watched.Root, "*", new EnumerationOptions { RecurseSubdirectories = watched.Recursive, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Where(f => watched.Covers(f) && !watched.Excluded.Any(x => x.IsMatch(f)))
            .Take(MaxFilesPerPath + 1)
            .ToList();
        if (files.Count > MaxFilesPerPath)
        {
            log.LogWarning("FIM baseline: rule {Rule} covers more than {Max} files under {Root}; only the first {Max} are compared", watched.Rule.Name, MaxFilesPerPath, watched.Root, MaxFilesPerPath);
            files.RemoveAt(MaxFilesPerPath);
        }

        return files;
    }

    private static BaselineEntry? Read(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            var mode = OperatingSystem.IsWindows() ? "" : Convert.ToString((int)File.GetUnixFileMode(stream.SafeFileHandle), 8).PadLeft(4, '0');
            return new BaselineEntry(Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length, mode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static FimBaselineCheck Check(FimRule rule, string file, FimBaselineResult result, DateTimeOffset now) =>
        new() { RuleId = rule.Id, Path = file, CheckedAt = now, Result = result };

    private static FimAlertReport Alert(FimRule rule, string file, FimOperation action, BaselineEntry? before, BaselineEntry? after, DateTimeOffset now)
    {
        var alert = FimRuleMatcher.Alert(rule, file, action, now, FoundByComparison);
        (alert.Before, alert.After) = (State(before), State(after));
        return alert;
    }

    private static FimFileState? State(BaselineEntry? entry) => entry is null ? null : new FimFileState { Sha256 = entry.Sha256, Size = entry.Size, Mode = entry.Mode.Length == 0 ? null : entry.Mode };

    private static string Key(string ruleId, string file) => ruleId + "\n" + file;

    // Unreadable: every file is taken into a new baseline (and reported as compared); the old file is kept aside.
    private Dictionary<string, BaselineEntry> Load() =>
        StateFile.Read(FilePath, AgentJsonContext.Default.DictionaryStringBaselineEntry, _ => log.LogError("The FIM baseline {Path} cannot be read; a new one is taken", FilePath)) ?? [];

    private void Save(Dictionary<string, BaselineEntry> baseline) => StateFile.Write(FilePath, baseline, AgentJsonContext.Default.DictionaryStringBaselineEntry);
}

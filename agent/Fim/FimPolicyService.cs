using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;

namespace Platform.Agent.Fim;

/// <summary>
/// Keeps the FIM watcher on the agent's effective policy: fetched at start and every
/// <see cref="AgentOptions.PolicySeconds"/> with <c>If-None-Match</c> (an unchanged policy is a 304 and costs
/// nothing); a changed one replaces the watcher. Alerts go to the spool, never straight to the api.
/// </summary>
public sealed class FimPolicyService(Spool spool, OwnReads ownReads, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, TimeProvider time, ILogger<FimPolicyService> log, Collectors.UserNames users, Enforcement.EnforcementService? enforcement = null, Sensor.TamperSensor? tamper = null) : BackgroundService
{
    private FimWatcher? _watcher;

    // One for every watcher: a write whose open the old watcher answered may reach only the new one (FanotifyOpeners).
    private readonly FanotifyOpeners _openers = new();
    private readonly TamperAlerts _tamperAlerts = new(users, enforcement is { } kept ? (path, action) => kept.Mechanism.Unsupported(path, action) : null);
    private readonly AlertFold _fold = new();

    /// <summary>The rules unlocked now (rule id to the end of the window, on this machine's clock).</summary>
    private IReadOnlyDictionary<string, DateTimeOffset> _unlocked = new Dictionary<string, DateTimeOffset>();

    /// <summary>Every alert raised live (watcher and kernel sensor), as it goes to the spool: what the baseline comparison knows was seen.</summary>
    public event Action<IReadOnlyList<FimAlertReport>>? Alerted;

    /// <summary>The rules being enforced (null until the first policy arrived).</summary>
    public IReadOnlyList<FimRule>? Rules { get; private set; }

    /// <summary>Directories watched now.</summary>
    public int WatchedDirectories => _watcher?.WatchedDirectories ?? 0;

    /// <summary>Why FIM alerts of reads and writes come without their process (null when fanotify names it).</summary>
    public string? NoAttributionReason => _watcher is { } w ? w.NoAttributionReason : "no FIM policy received yet";

    /// <summary>What is at each watched rule path now (null until the first policy arrived); see <see cref="FimWatcher.PathStates"/>.</summary>
    public List<AgentFimPathStatus>? PathStates => _watcher?.PathStates(MaxReportedPaths);

    /// <summary>The heartbeat's bound on <c>fim.paths</c> (openapi.yaml).</summary>
    public const int MaxReportedPaths = 1000;

    /// <summary>Kernel queue overflows and unwatchable directories since the agent started (each a blind spot).</summary>
    public (long Overflows, long Unwatchable) BlindSpots => _watcher is { } w ? (w.Overflows, w.Unwatchable) : (0, 0);

    /// <summary>Alerts folded into an attempt's first (not sent), and attempts forgotten at the fold's bound, since the agent started (<see cref="AlertFold"/>).</summary>
    public (long Folded, long Forgotten) Folding => (_fold.Folded, _fold.Forgotten);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var credential = await credentials.GetAsync(stoppingToken);
        var client = new PlatformClient(clients.CreateClient(PlatformHttp.Api));
        string? etag = null;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.PolicySeconds));
        if (tamper is not null && options.WatchFiles)
            tamper.Attempted += Attempted;
        if (enforcement is not null)
            enforcement.Applied += ProtectedChanged;
        try
        {
            do
            {
                try
                {
                    var response = new ResponseETag.Box();
                    ResponseETag.Current.Value = response;
                    var policy = await client.GetEffectiveFimPolicyAsync(credential.AgentId, etag, stoppingToken);
                    etag = response.ETag;
                    Enforce(policy.Rules, response.Date, stoppingToken);
                }
                catch (PlatformApiException unchanged) when (unchanged.StatusCode == 304)
                {
                }
                catch (Exception failure) when (!stoppingToken.IsCancellationRequested && failure is not OperationCanceledException)
                {
                    log.LogWarning("The FIM policy could not be fetched ({Reason}); the rules in force stay", failure.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            if (tamper is not null)
                tamper.Attempted -= Attempted;
            if (enforcement is not null)
                enforcement.Applied -= ProtectedChanged;
            _watcher?.Dispose();
        }
    }

    /// <summary>
    /// Alerts go to the spool, one per attempt (<see cref="AlertFold"/>: the system calls of one tool on one file, from
    /// the sensor and the watcher, are one alert); so does each access they saw, as flight data (a <c>file_access</c> event: the file
    /// accesses on watched paths are part of the node's timeline, beside its processes and connections).
    /// </summary>
    private void Record(IReadOnlyList<FimAlertReport> alerts)
    {
        alerts = _fold.Admit(alerts);
        if (alerts.Count == 0)
            return;
        Alerted?.Invoke(alerts); // before the spool: no alert can reach the api before the baseline knows it was seen
        spool.Record(alerts);
        spool.Record(alerts.DistinctBy(a => (a.Path, a.Action, a.Process?.Pid, a.Time)).Select(a => (TelemetryEvent)new FileAccessEvent
        {
            Id = "f" + a.Id, Time = a.Time, Path = a.Path, Operation = a.Action, Pid = a.Process?.Pid, ProcessName = a.Process?.Name, Container = a.Container,
        }).ToList());
    }

    /// <summary>
    /// A tamper attempt the kernel sensor saw on a protected file (on the sensor's thread, in the kernel's order): its
    /// alerts to the spool, and a removed attribute put back at once.
    /// </summary>
    private void Attempted(Sensor.TamperAttempt attempt)
    {
        string? notRestored = null;
        if (attempt.Succeeded && attempt.Operation == Sensor.TamperOperation.Attributes)
        {
            var device = attempt.Target.Device;
            notRestored = enforcement is null ? "the agent keeps no attributes" : enforcement.Reassert((uint)(device >> 20), (uint)(device & 0xFFFFF), attempt.Target.Inode).Failed;
        }

        // A watched file removed or replaced: its old inode number stopped matching at once (TamperSensor.Left); the
        // sensor's map is refilled soon (at most once a second), so that the file made at its path is watched.
        if (attempt.Succeeded && attempt.Operation is Sensor.TamperOperation.Remove or Sensor.TamperOperation.Rename or Sensor.TamperOperation.Link)
            enforcement?.Rescan();

        if (_tamperAlerts.Convert(attempt, IsUnlocked, tamper is null ? null : tamper.ByPath.ContainsKey, notRestored) is { Count: > 0 } alerts)
            Record(alerts);
    }

    /// <summary>
    /// The kernel sensor's map follows what the rules cover, each time the enforcement applied them (a policy, a rescan
    /// that found new or replaced files, an unlock window's end): the inodes the enforcement protects now (it has just
    /// looked at them: a file replaced since the policy arrived is matched by its new inode, not only by its name), and
    /// the files and directories of <c>alert</c> rules that watch changes, with the directory of each file a rule names
    /// (a rename of that directory moves the file away); and the same paths of <c>prevent</c> rules that the enforcement
    /// could not protect (a filesystem without the attributes: their changes go through, and are reported like an alert
    /// rule's, <c>prevent-unsupported</c>). Read-only rules are not given: the sensor reports changes.
    /// </summary>
    private void ProtectedChanged()
    {
        if (tamper is null || !options.WatchFiles || Volatile.Read(ref _sensorRules) is not { } rules)
            return;
        lock (_tamperGate)
        {
            var paths = new HashSet<string>(enforcement?.Mechanism.ProtectedInodes().Select(p => p.Path) ?? [], StringComparer.Ordinal);
            // planned: the paths themselves (the enforcement's plan for prevent rules, which it has just applied); null: build it.
            void Watch(FimEffect effect, IEnumerable<string>? planned, Func<string, bool> keep)
            {
                var watched = rules.Where(r => r.Enabled && r.Effect == effect).ToList();
                if (watched.Count == 0)
                    return;
                paths.UnionWith(planned ?? Enforcement.ProtectionPlan.Build(watched, options.Enforcement.MaxProtected, options.Enforcement.MaxEntriesLookedAt, effect).Targets.Keys);
                paths.UnionWith(new FimRuleMatcher(watched).Paths.Where(p => p.Rule.Operations.Any(o => o != FimOperation.Read)).Select(p => p.Root).Where(Directory.Exists).Where(keep));
            }

            Watch(FimEffect.Alert, null, _ => true);
            if (enforcement is not null)
                Watch(FimEffect.Prevent, enforcement.Mechanism.Planned.Where(p => p.Value is not null).Select(p => p.Key), path => enforcement.Mechanism.Unsupported(path, FimOperation.Write) is not null);
            tamper.SetProtected(paths);
        }
    }

    /// <summary>Whether <paramref name="rule"/> is in an unlock window now (the windows in force, whichever policy asks).</summary>
    private bool IsUnlocked(FimRule rule) => Volatile.Read(ref _unlocked).TryGetValue(rule.Id, out var until) && time.GetUtcNow() < until;

    private readonly Lock _tamperGate = new();
    private IReadOnlyList<FimRule>? _sensorRules;

    /// <summary>
    /// The open unlock windows of <paramref name="rules"/> on this machine's clock: the api gives their ends on its own
    /// clock, and its <c>Date</c> (<paramref name="apiNow"/>) says how far ahead they are.
    /// </summary>
    private Dictionary<string, DateTimeOffset> UnlockWindows(IReadOnlyList<FimRule> rules, DateTimeOffset? apiNow)
    {
        var now = time.GetUtcNow();
        return rules
            .Where(r => r.Unlock is { } window && window.Until > (apiNow ?? now))
            .ToDictionary(r => r.Id, r => now + (r.Unlock!.Until - (apiNow ?? now)), StringComparer.Ordinal);
    }

    private void Enforce(IReadOnlyList<FimRule> rules, DateTimeOffset? apiNow, CancellationToken stoppingToken)
    {
        var unlocked = UnlockWindows(rules, apiNow);
        Volatile.Write(ref _unlocked, unlocked);
        _tamperAlerts.Use(rules);
        // The kernel's protection first, while the old watcher still answers fanotify's permission events (setting an
        // attribute opens the file). Without WatchFiles (simulate) nothing on this machine is protected either.
        if (options.WatchFiles)
        {
            // The kernel sensor's map follows (ProtectedChanged, raised by the application).
            Volatile.Write(ref _sensorRules, rules);
            if (enforcement is null)
                ProtectedChanged();
            else
                enforcement.Enforce(rules, unlocked);
        }

        // The new watcher starts before the old one stops: no moment without one.
        // Without WatchFiles (simulate), the rules are known (for the simulated alerts) but nothing on this machine is watched.
        var watcher = new FimWatcher(options.WatchFiles ? rules : [], Record, time, log, ownReads, attribute: options.WatchFiles, enforcement?.Mechanism,
            // The windows in force now, not those of this policy: the old watcher still answers while the enforcement
            // lifts a new window's attributes, and a write it sees then is the window's.
            IsUnlocked, appeared: enforcement is null ? null : _ => enforcement.Rescan(), users,
            changesFromSensor: tamper is { Watching: true } sensor ? path => sensor.ByPath.ContainsKey(path) || (Path.GetDirectoryName(path) is { } parent && sensor.ByPath.ContainsKey(parent)) : null,
            openers: _openers);
        _ = watcher.RunAsync(stoppingToken);
        var old = Interlocked.Exchange(ref _watcher, watcher);
        old?.Dispose();
        Rules = rules;
        log.LogInformation("FIM policy: {Rules} rules, {Directories} directories watched", rules.Count, watcher.WatchedDirectories);
    }
}

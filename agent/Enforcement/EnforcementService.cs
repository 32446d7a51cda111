namespace Platform.Agent.Enforcement;

/// <summary>
/// Keeps the chosen <see cref="IEnforcement"/> on the FIM policy: <see cref="Enforce"/> (from the policy service, as a
/// policy arrives) applies it at once; then, as a safety net for what the sensor does not report, every attribute
/// set is checked and put back when removed (<see cref="EnforcementOptions.VerifySeconds"/>), the rules' paths are
/// looked at again for files made since (<see cref="EnforcementOptions.RescanSeconds"/>), and the rules are applied
/// again the moment an unlock window ends.
/// </summary>
public sealed class EnforcementService(IEnforcement enforcement, AgentOptions options, TimeProvider time, ILogger<EnforcementService> log) : BackgroundService
{
    private readonly Lock _gate = new();
    private IReadOnlyList<FimRule>? _rules;
    private IReadOnlyDictionary<string, DateTimeOffset> _unlocked = new Dictionary<string, DateTimeOffset>();
    private DateTimeOffset? _nextChange;
    private CancellationTokenSource? _wake;
    private bool _rescanNow;
    private DateTimeOffset _lastRescan = DateTimeOffset.MinValue;

    /// <summary>Rescans asked for by file events come at most this often (a busy directory must not keep the agent enumerating).</summary>
    public static readonly TimeSpan RescanGap = TimeSpan.FromSeconds(1);

    public IEnforcement Mechanism => enforcement;

    /// <summary>What the last application did (null before the first policy).</summary>
    public EnforcementReport? Last { get; private set; }

    /// <summary>
    /// Raised after each application (a policy, a rescan for new files, the end of an unlock window), outside the lock:
    /// what <see cref="IEnforcement.ProtectedInodes"/> lists may have changed (the kernel sensor's map follows it).
    /// </summary>
    public event Action? Applied;

    /// <summary>
    /// Protects what <paramref name="rules"/> say, now, except the rules unlocked (rule id to the end of its window);
    /// what they no longer cover gets its original attributes back.
    /// </summary>
    public EnforcementReport Enforce(IReadOnlyList<FimRule> rules, IReadOnlyDictionary<string, DateTimeOffset>? unlockedUntil = null)
    {
        EnforcementReport report;
        lock (_gate)
        {
            (_rules, _unlocked) = (rules, unlockedUntil ?? new Dictionary<string, DateTimeOffset>());
            _lastRescan = time.GetUtcNow();
            report = Last = enforcement.Apply(rules, _unlocked, _lastRescan);
            _nextChange = report.NextChange;
            _wake?.Cancel(); // the wait under way may end later than a new window
        }

        Applied?.Invoke();
        return report;
    }

    /// <summary>
    /// Something appeared under a rule's path (the FIM watcher's create or move-in): the rules' paths are looked at
    /// again soon (at most every <see cref="RescanGap"/>), so that a new file is protected as it appears.
    /// </summary>
    public void Rescan()
    {
        lock (_gate)
        {
            if (_rules is null || _rescanNow)
                return;
            _rescanNow = true;
            _wake?.Cancel();
        }
    }

    /// <summary>The sensor saw an inode's flags set (FS_IOC_SETFLAGS, FS_IOC_FSSETXATTR): put back at once what is missing.</summary>
    public Reassertion Reassert(uint deviceMajor, uint deviceMinor, ulong inode) => enforcement.Reassert(deviceMajor, deviceMinor, inode);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var verify = TimeSpan.FromSeconds(options.Enforcement.VerifySeconds);
        var rescan = TimeSpan.FromSeconds(options.Enforcement.RescanSeconds);
        var nextRescan = time.GetUtcNow() + rescan;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var wake = now + verify < nextRescan ? now + verify : nextRescan;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                lock (_gate)
                {
                    // Read with the wake-up in place: a window opened after this is seen by Enforce's cancel.
                    if (_nextChange is { } change && change < wake)
                        wake = change;
                    if (_rescanNow && _lastRescan + RescanGap < wake)
                        wake = _lastRescan + RescanGap;
                    _wake = wait;
                }

                try
                {
                    await Task.Delay(Max(wake - now, TimeSpan.Zero), time, wait.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    continue; // a new policy was applied, or a rescan asked for: wait again from now
                }
                finally
                {
                    lock (_gate)
                        _wake = null;
                }
            }

            try
            {
                now = time.GetUtcNow();
                bool again;
                lock (_gate)
                    again = _rules is not null && (now >= nextRescan || _nextChange <= now || (_rescanNow && now >= _lastRescan + RescanGap));
                if (again)
                {
                    nextRescan = now + rescan;
                    lock (_gate)
                    {
                        (_rescanNow, _lastRescan) = (false, now);
                        var report = Last = enforcement.Apply(_rules!, _unlocked, now);
                        _nextChange = report.NextChange;
                    }

                    Applied?.Invoke();
                }
                else
                {
                    enforcement.Verify();
                }
            }
            catch (Exception failure) when (failure is IOException or UnauthorizedAccessException)
            {
                log.LogWarning(failure, "Protected files could not be checked");
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

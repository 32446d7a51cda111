using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;
using Platform.Contracts;

namespace Platform.Agent.Fim;

/// <summary>
/// Keeps the FIM watcher on the agent's effective policy: fetched at start and every
/// <see cref="AgentOptions.PolicySeconds"/> with <c>If-None-Match</c> (an unchanged policy is a 304 and costs
/// nothing); a changed one replaces the watcher. Alerts go to the spool, never straight to the api.
/// </summary>
public sealed class FimPolicyService(Spool spool, OwnReads ownReads, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, TimeProvider time, ILogger<FimPolicyService> log, Enforcement.EnforcementService? enforcement = null) : BackgroundService
{
    private FimWatcher? _watcher;

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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var credential = await credentials.GetAsync(stoppingToken);
        var client = new PlatformClient(clients.CreateClient(PlatformHttp.Api));
        string? etag = null;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.PolicySeconds));
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
                    Enforce(policy.Rules, stoppingToken);
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
            _watcher?.Dispose();
        }
    }

    /// <summary>
    /// Alerts go to the spool; so does each access they saw, as flight data (a <c>file_access</c> event: the file
    /// accesses on watched paths are part of the node's timeline, beside its processes and connections).
    /// </summary>
    private void Record(IReadOnlyList<FimAlertReport> alerts)
    {
        spool.Record(alerts);
        spool.Record(alerts.DistinctBy(a => (a.Path, a.Action, a.Process?.Pid, a.Time)).Select(a => (TelemetryEvent)new FileAccessEvent
        {
            Id = "f" + a.Id, Time = a.Time, Path = a.Path, Operation = a.Action, Pid = a.Process?.Pid, ProcessName = a.Process?.Name, Container = a.Container,
        }).ToList());
    }

    private void Enforce(IReadOnlyList<FimRule> rules, CancellationToken stoppingToken)
    {
        // The kernel's protection first, while the old watcher still answers fanotify's permission events (setting an
        // attribute opens the file). Without WatchFiles (simulate) nothing on this machine is protected either.
        if (options.WatchFiles)
            enforcement?.Enforce(rules);
        // The new watcher starts before the old one stops: no moment without one.
        // Without WatchFiles (simulate), the rules are known (for the simulated alerts) but nothing on this machine is watched.
        var watcher = new FimWatcher(options.WatchFiles ? rules : [], Record, time, log, ownReads, attribute: options.WatchFiles, enforcement?.Mechanism, appeared: enforcement is null ? null : _ => enforcement.Rescan());
        _ = watcher.RunAsync(stoppingToken);
        var old = Interlocked.Exchange(ref _watcher, watcher);
        old?.Dispose();
        Rules = rules;
        log.LogInformation("FIM policy: {Rules} rules, {Directories} directories watched", rules.Count, watcher.WatchedDirectories);
    }
}

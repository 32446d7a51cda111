using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;
using Platform.Agent.Fim;

namespace Platform.Agent;

/// <summary>
/// Tells the api the agent is alive and how it is (<see cref="AgentStatus"/>: what it watches, what its spool
/// holds, what it lost, what it can and cannot do here and why), at <see cref="AgentOptions.HeartbeatSeconds"/>.
/// Flushes the spool to disk on the same beat.
/// </summary>
public sealed class HeartbeatService(Spool spool, DeliveryService delivery, FimPolicyService fim, Collectors.FlightDataCollector collector, Sensor.SensorState sensor, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, ILogger<HeartbeatService> log, Enforcement.IEnforcement? enforcement = null) : BackgroundService
{
    /// <summary>What refusing writes needs.</summary>
    public const string NoPrevention = "refusing writes needs fanotify permission events";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.HeartbeatSeconds));
        do
        {
            try
            {
                await BeatAsync(stoppingToken);
            }
            catch (Exception failure) when (failure is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Heartbeat not delivered: {Reason}", failure.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    // One beat at a time: a beat held up by an outage (the HTTP pipeline retries it, body unchanged) must not land
    // after a later one and put an older status back.
    private readonly SemaphoreSlim _beating = new(1, 1);

    /// <summary>One heartbeat, now (after the one under way, if any, so the api keeps the newest status).</summary>
    public async Task BeatAsync(CancellationToken cancellationToken)
    {
        await _beating.WaitAsync(cancellationToken);
        try
        {
            spool.Sync();
            var credential = await credentials.GetAsync(cancellationToken);
            await new PlatformClient(clients.CreateClient(PlatformHttp.Api))
                .RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = AgentVersion.Current, Os = Environment.OSVersion.ToString(), Status = Status() }, credential.AgentId, cancellationToken);
        }
        finally
        {
            _beating.Release();
        }
    }

    /// <summary>
    /// Which mechanism keeps prevent rules and why not a stronger one: inode attributes are available whatever fanotify
    /// does; the fanotify refusal only while fanotify runs.
    /// </summary>
    private AgentCapability Prevention()
    {
        if (enforcement?.Mechanism is AgentPreventionMechanism.InodeAttributes or AgentPreventionMechanism.BpfLsm)
            return new AgentCapability { Available = true, Reason = enforcement.Reason, Mechanism = enforcement.Mechanism };
        if (enforcement?.Mechanism == AgentPreventionMechanism.None)
            return new AgentCapability { Available = false, Reason = enforcement.Reason, Mechanism = AgentPreventionMechanism.None };
        var capability = fim.NoAttributionReason is { } why
            ? new AgentCapability { Available = false, Reason = $"{NoPrevention}: {why}", Mechanism = AgentPreventionMechanism.None }
            : new AgentCapability { Available = true, Reason = enforcement?.Reason, Mechanism = AgentPreventionMechanism.Fanotify };
        if (capability.Reason is { Length: > 500 } longer)
            capability.Reason = longer[..497] + "...";
        return capability;
    }

    public AgentStatus Status()
    {
        var (telemetry, alerts) = (spool.Telemetry.Counts, spool.Alerts.Counts);
        var (overflows, unwatchable) = fim.BlindSpots;
        var (folded, forgotten) = fim.Folding;
        return new AgentStatus
        {
            Sensor = sensor.Status(),
            Fim = new AgentFimStatus { Rules = fim.Rules?.Count ?? 0, WatchedDirectories = fim.WatchedDirectories, Overflows = overflows, Unwatchable = unwatchable, FoldedAlerts = folded, ForgottenAttempts = forgotten, Paths = fim.PathStates },
            Spool = new AgentSpoolStatus
            {
                TelemetryRecords = telemetry.Records,
                AlertRecords = alerts.Records,
                Bytes = telemetry.Bytes + alerts.Bytes,
                DroppedTelemetry = telemetry.DroppedRecords,
                QuarantinedRegions = telemetry.QuarantinedRegions + alerts.QuarantinedRegions,
                RejectedBatches = delivery.Rejected,
            },
            Capabilities = new AgentCapabilities
            {
                ProcessAttribution = new AgentCapability { Available = fim.NoAttributionReason is null, Reason = fim.NoAttributionReason },
                Prevention = Prevention(),
                ProcessEvents = collector.Mode,
            },
        };
    }
}

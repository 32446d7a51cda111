namespace Platform.Agent.Sensor;

/// <summary>Which sensor the agent chose at start and how it fares, for the heartbeat (<c>status.sensor</c>).</summary>
public sealed class SensorState
{
    private long _lostEvents;

    public SensorState(AgentSensorMode mode, string? reason) => (Mode, Reason) = (mode, reason);

    public AgentSensorMode Mode { get; }

    /// <summary>Why the agent is not on eBPF (null when it is).</summary>
    public string? Reason { get; }

    /// <summary>Events the kernel sensor lost since the agent started.</summary>
    public long LostEvents => Interlocked.Read(ref _lostEvents);

    /// <summary>
    /// Connections and listening sockets come from the kernel sensor's network records, so the fallback collectors stop
    /// scanning /proc/net (set by the part that converts those records, before the agent starts its services).
    /// </summary>
    public bool SocketsFromKernel { get; set; }

    /// <summary>Files the kernel watches for reads with no FIM rule (set by the part that fills that map; null until then).</summary>
    public int? SensitiveFiles { get; set; }

    public void Lost(long events) => Interlocked.Add(ref _lostEvents, events);

    public AgentSensorStatus Status() => new()
    {
        Mode = Mode,
        Reason = Reason is { Length: > 500 } long_ ? long_[..500] : Reason,
        LostEvents = LostEvents,
        SensitiveFiles = SensitiveFiles,
    };
}

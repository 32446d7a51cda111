namespace Platform.Agent;

/// <summary>
/// Bound from <c>Platform:Agent</c> (appsettings.json, <c>Platform__Agent__Server=...</c>, or the short
/// switches <c>--server</c>, <c>--enroll-token</c>, <c>--enroll-token-file</c>, <c>--state-dir</c>).
/// </summary>
public sealed class AgentOptions
{
    public const string Section = "Platform:Agent";

    /// <summary>The api's base address, e.g. <c>https://platform.example.com</c>.</summary>
    public Uri? Server { get; set; }

    /// <summary>Used once, to enroll; afterwards the agent's own credential (in <see cref="StateDirectory"/>) is used.</summary>
    public string? EnrollToken { get; set; }

    /// <summary>
    /// A file holding <see cref="EnrollToken"/> (the packaged unit's way: the token is then in no unit, command line or
    /// journal). Read at start while there is no credential yet (Enrollment/EnrollTokenFile.cs); giving both is an error.
    /// </summary>
    public string? EnrollTokenFile { get; set; }

    /// <summary>The credential and the spool. Readable by the agent's user only.</summary>
    public string StateDirectory { get; set; } = "/var/lib/platform-agent";

    /// <summary>The name this node enrolls under.</summary>
    public string Hostname { get; set; } = Environment.MachineName;

    /// <summary>Labels asked for at enrollment (the enrollment token's own labels win).</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    public int HeartbeatSeconds { get; set; } = 30;

    /// <summary>How often the FIM policy is fetched again (an unchanged one costs a 304).</summary>
    public int PolicySeconds { get; set; } = 30;

    /// <summary>Disk the spool may use. Past it the oldest telemetry is dropped (counted, reported as a gap); FIM alerts are never dropped.</summary>
    public long SpoolMaxBytes { get; set; } = 256L << 20;

    /// <summary>
    /// Events a telemetry batch carries at most (the api takes up to 1,000 and 1 MiB; a batch is also cut at 768 KiB).
    /// Each batch costs a request and two cursor writes (fsync) whatever its size: full batches cost the least.
    /// </summary>
    public int TelemetryBatchEvents { get; set; } = 1000;

    /// <summary>Watch the FIM rules' paths on this machine (off in <c>simulate</c>, where the scenarios stand in for it).</summary>
    public bool WatchFiles { get; set; } = true;

    /// <summary>How often protected files are compared with their SHA-256 baseline, in hours (weekly; 0: never). Also at start and when the policy changes.</summary>
    public int BaselineHours { get; set; } = 168;

    /// <summary>How often the flight-data collectors scan /proc for processes and sockets, in milliseconds (0: no collectors, and no kernel sensor either).</summary>
    public int CollectorMilliseconds { get; set; } = 1000;

    /// <summary>How often the container inventory is read and, when it changed, reported, in seconds (0: never).</summary>
    public int InventorySeconds { get; set; } = 300;

    /// <summary>Docker's state directory (its <c>containers/</c> are read for the inventory).</summary>
    public string DockerRoot { get; set; } = "/var/lib/docker";

    /// <summary>
    /// Patterns and secret names added to the built-in redaction rules (docs/redaction.md), applied before anything
    /// is spooled: <c>Platform:Agent:Redaction:Patterns:0:Name</c>, <c>...:Pattern</c>, <c>Platform:Agent:Redaction:SecretNames:0</c>.
    /// </summary>
    public Platform.Contracts.RedactionOptions Redaction { get; set; } = new();

    /// <summary>The kernel sensor and its fallbacks (<c>Platform:Agent:Sensor</c>, docs/sensor.md).</summary>
    public Sensor.SensorOptions Sensor { get; set; } = new();

    /// <summary>How <c>prevent</c> rules are kept (<c>Platform:Agent:Enforcement</c>, docs/enforcement.md).</summary>
    public Enforcement.EnforcementOptions Enforcement { get; set; } = new();

    /// <summary>How long a batch that is not full waits for more, in milliseconds.</summary>
    public int LingerMilliseconds { get; set; } = 1000;
}

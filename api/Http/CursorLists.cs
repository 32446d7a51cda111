using IncidentPosition = Platform.Api.Incidents.IncidentPosition;

namespace Platform.Api.Http;

/// <summary>The cursors of every list operation, one each.</summary>
public static class CursorLists
{
    public static readonly CursorList<string> Tokens = Text("listTokens");
    public static readonly CursorList<string> EnrollmentTokens = Text("listEnrollmentTokens");
    /// <summary>listAgents, sort=enrolled (the default): the last agent's id (ids grow with enrollment).</summary>
    public static readonly CursorList<string> Agents = Text("listAgents");
    /// <summary>listAgents, sort=lastHeartbeat: the last agent's heartbeat time (null: never) and id.</summary>
    public static readonly CursorList<(DateTimeOffset? HeartbeatAt, string AgentId)> AgentsByHeartbeat = new("listAgents?sort=lastHeartbeat",
        (w, k) => w.Int64(k.HeartbeatAt?.UtcTicks ?? NoTime).Text(k.AgentId),
        r => (r.Int64(NoTime, DateTimeOffset.MaxValue.UtcTicks) is var ticks && ticks == NoTime ? null : new DateTimeOffset(ticks, TimeSpan.Zero), r.Text()));
    public static readonly CursorList<string> Audit = Text("listAuditEntries");
    public static readonly CursorList<string> FimRules = Text("listFimRules");
    public static readonly CursorList<int> FimRuleVersions = new("listFimRuleVersions", (w, v) => w.Int64(v), r => r.Int32());
    public static readonly CursorList<string> FimAlerts = Text("listFimAlerts");
    /// <summary>X-Next-Cursor of exportFimAlerts: the last alert the previous part looked at.</summary>
    public static readonly CursorList<string> FimAlertExport = Text("exportFimAlerts");
    /// <summary>listTelemetryGaps: the batch sequence number and the place in it (-1 for missing batches) of the last gap.</summary>
    public static readonly CursorList<(long Sequence, int Ordinal)> TelemetryGaps = new("listTelemetryGaps", (w, k) => w.Int64(k.Sequence).Int64(k.Ordinal), r => (r.Int64(), r.Int32()));
    public static readonly CursorList<Telemetry.EventPosition> TelemetryEvents = new("listTelemetryEvents",
        (w, p) => w.Int64(p.Ticks).Text(p.SegmentId).Int64(p.Index),
        r => new Telemetry.EventPosition(r.Int64(), r.Text(), r.Int32()));
    /// <summary>nextCursor and resumeCursor of listIncidents (resumeCursor whatever the sort): the change sequence number reached.</summary>
    public static readonly CursorList<long> Incidents = Int64("listIncidents");
    /// <summary>nextCursor of listIncidents, sort=-lastSeen: the last incident's lastSeen and id.</summary>
    public static readonly CursorList<IncidentPosition> IncidentsByLastSeenDescending = LastSeen("listIncidents?sort=-lastSeen");
    /// <summary>nextCursor of listIncidents, sort=lastSeen.</summary>
    public static readonly CursorList<IncidentPosition> IncidentsByLastSeen = LastSeen("listIncidents?sort=lastSeen");
    /// <summary>nextCursor of listIncidents, sort=-severity: the last incident's severity rank, lastSeen and id.</summary>
    public static readonly CursorList<IncidentPosition> IncidentsBySeverityDescending = new("listIncidents?sort=-severity",
        (w, p) => w.Int64(p.SeverityRank).Int64(p.LastSeen.UtcTicks).Text(p.IncidentId),
        r => new IncidentPosition((int)r.Int64(0, 3), Time(r), r.Text()));
    public static readonly CursorList<string> IncidentNotes = Text("listIncidentNotes");
    public static readonly CursorList<(DateTimeOffset Time, string FindingId)> IncidentFindings = new("listIncidentFindings",
        (w, k) => w.Int64(k.Time.UtcTicks).Text(k.FindingId),
        r => (Time(r), r.Text()));
    public static readonly CursorList<string> Webhooks = Text("listWebhooks");
    public static readonly CursorList<string> WebhookDeliveries = Text("listWebhookDeliveries");

    /// <summary>Written for "no time" (an agent never heard from): below every time's ticks.</summary>
    private const long NoTime = -1;

    private static DateTimeOffset Time(CursorReader reader) => new(reader.Int64(DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero);

    private static CursorList<IncidentPosition> LastSeen(string name) => new(name,
        (w, p) => w.Int64(p.LastSeen.UtcTicks).Text(p.IncidentId),
        r => new IncidentPosition(0, Time(r), r.Text()));

    private static CursorList<string> Text(string name) => new(name, (w, v) => w.Text(v), r => r.Text());

    private static CursorList<long> Int64(string name) => new(name, (w, v) => w.Int64(v), r => r.Int64());
}

namespace Platform.Api.Http;

/// <summary>The cursors of every list operation, one each.</summary>
public static class CursorLists
{
    public static readonly CursorList<string> Tokens = Text("listTokens");
    public static readonly CursorList<string> EnrollmentTokens = Text("listEnrollmentTokens");
    public static readonly CursorList<string> Agents = Text("listAgents");
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
    /// <summary>nextCursor and resumeCursor of listIncidents: the change sequence number reached.</summary>
    public static readonly CursorList<long> Incidents = Int64("listIncidents");
    public static readonly CursorList<string> IncidentNotes = Text("listIncidentNotes");
    public static readonly CursorList<(DateTimeOffset Time, string FindingId)> IncidentFindings = new("listIncidentFindings",
        (w, k) => w.Int64(k.Time.UtcTicks).Text(k.FindingId),
        r => (new DateTimeOffset(r.Int64(DateTimeOffset.MinValue.UtcTicks, DateTimeOffset.MaxValue.UtcTicks), TimeSpan.Zero), r.Text()));
    public static readonly CursorList<string> Webhooks = Text("listWebhooks");
    public static readonly CursorList<string> WebhookDeliveries = Text("listWebhookDeliveries");

    private static CursorList<string> Text(string name) => new(name, (w, v) => w.Text(v), r => r.Text());

    private static CursorList<long> Int64(string name) => new(name, (w, v) => w.Int64(v), r => r.Int64());
}

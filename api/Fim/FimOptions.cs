namespace Platform.Api.Fim;

/// <summary>Bound from <c>Platform:Fim</c>.</summary>
public sealed class FimOptions
{
    public const string Section = "Platform:Fim";

    /// <summary>Identical alerts within this many seconds of the first are folded into it.</summary>
    public int FoldWindowSeconds { get; set; } = 300;

    /// <summary>Alerts one listFimAlerts request looks at, at most, however few match its filters (documented in openapi.yaml).</summary>
    public int ListScanAlerts { get; set; } = 10_000;

    /// <summary>
    /// Alerts one exportFimAlerts request looks at, at most; the export goes on with the cursor it returns. Writing an
    /// alert costs about 50 µs of CPU (bench suite=analyst): 10,000 keep a request well under a second.
    /// </summary>
    public int ExportScanAlerts { get; set; } = 10_000;

    /// <summary>
    /// How long after a rule version was replaced (updated, disabled, deleted) alerts dated later still name it: the
    /// agent polls its policy (every 30 s by default) and may hold the old version until then, plus its clock may run
    /// up to Platform:Ingest:MaxClockSkew ahead. An alert dated before the replacement is accepted whenever it arrives
    /// (spooled through an outage).
    /// </summary>
    public int RuleVersionGraceSeconds { get; set; } = 900;

    /// <summary>
    /// The PCI report takes an agent's reported watch states as evidence only from a heartbeat this recent (agents send
    /// one every 30 s by default): an agent silent longer may be gone, and what it last said proves nothing now.
    /// </summary>
    public int PciHeartbeatMaxAgeSeconds { get; set; } = 900;

    /// <summary>
    /// An alert that says <c>unlocked</c> keeps the claim when its time is within an unlock window of its rule widened
    /// by this much on both sides: the agent learns of a window (and of its early end) at its next policy poll, and its
    /// clock may differ from the API's.
    /// </summary>
    public int UnlockGraceSeconds { get; set; } = 60;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (ListScanAlerts < 1 || ExportScanAlerts < 1)
            yield return $"{Section}: ListScanAlerts and ExportScanAlerts must be at least 1.";
        if (FoldWindowSeconds < 0 || RuleVersionGraceSeconds < 0 || PciHeartbeatMaxAgeSeconds < 0 || UnlockGraceSeconds < 0)
            yield return $"{Section}: FoldWindowSeconds, RuleVersionGraceSeconds, PciHeartbeatMaxAgeSeconds and UnlockGraceSeconds must not be negative.";
    }
}

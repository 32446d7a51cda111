using Platform.Api.Fim;

namespace Platform.Api.Incidents;

/// <summary>
/// The rule on FIM alerts: a change to a protected file (anything but a read) is a <c>fim-protected-write</c>
/// finding, one per stored alert (so a storm folded into one alert is one finding), as severe as its rule, one
/// step less when the agent prevented it. Changes made in an unlock window of the rule (<c>unlocked</c>) make none.
/// An attribute a <c>prevent</c> rule's file was kept with, removed (<c>attribute-removed</c>), is a critical
/// <c>fim-attribute-removed</c> finding whatever the rule's severity: the protection itself was taken away.
/// </summary>
public static class FimFindings
{
    /// <summary>The findings of a batch's alerts (<paramref name="stored"/>: as ingested in <paramref name="write"/>, which finds their ids).</summary>
    public static async Task<IReadOnlyList<Finding>> OfAsync(Database.Write write, IReadOnlyList<FimAlertReport> reports, IReadOnlyList<IncomingAlert> stored, CancellationToken cancellationToken)
    {
        // Changes made in an unlock window (a deployment someone unlocked the rule for, audited) make no incident.
        var changes = reports.Zip(stored).Where(p => p.First.Action != FimOperation.Read && p.First.Unlocked != true).ToList();
        if (changes.Count == 0)
            return [];
        var ids = await FimAlertStore.AlertIdsAsync(write, changes.Select(c => c.Second.FoldKey).Distinct().ToList(), cancellationToken);
        var findings = new List<Finding>();
        foreach (var group in changes.GroupBy(c => c.Second.FoldKey))
        {
            if (!ids.TryGetValue(group.Key, out var alertId))
                continue;
            var (report, alert) = group.OrderBy(c => c.First.Time).First();
            var prevented = report.Effect == FimAlertEffect.Prevented;
            var removed = report.Effect == FimAlertEffect.AttributeRemoved;
            var severity = removed ? IncidentSeverity.Critical : SpecEnum.FromSpec<IncidentSeverity>(alert.Severity);
            if (prevented && severity > IncidentSeverity.Low)
                severity--;
            var lineage = report.Process is { } process ? new List<LineageProcess> { new() { Pid = process.Pid, Name = process.Name, Executable = process.Executable } } : [];
            findings.Add(new Finding(alertId, removed ? DetectionRule.FimAttributeRemoved : DetectionRule.FimProtectedWrite, severity, report.Time.ToUniversalTime(), report.Container?.Id ?? "", report.Container?.Name, report.Container?.Image,
                prevented ? $"{alert.Description} (prevented)" : alert.Description, lineage, [], [alertId]));
        }

        return findings;
    }
}

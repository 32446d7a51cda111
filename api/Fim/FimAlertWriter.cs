using Platform.Api.Agents;
using Platform.Api.Audit;
using Platform.Api.Incidents;

namespace Platform.Api.Fim;

/// <summary>
/// Writes FIM alerts with what goes with them, each in one transaction: a batch's alerts with their findings (and so
/// their incidents: an alert is never stored without the finding it makes), an acknowledgement with its audit entry.
/// </summary>
public sealed class FimAlertWriter(Database database, FimAlertStore alerts, IncidentWorkflow incidents, AuditLog audit, TimeProvider time)
{
    public async Task<IngestResult> IngestAsync(AgentRow agent, IReadOnlyList<FimAlertReport> reports, IReadOnlyList<IncomingAlert> incoming, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var result = await alerts.IngestAsync(write, agent.AgentId, agent.Hostname, incoming, cancellationToken);
        // Duplicates too (findings are kept once): a batch stored before findings went with their alerts gets them now.
        var findings = await FimFindings.OfAsync(write, reports, incoming, cancellationToken);
        if (findings.Count == 0)
        {
            await write.CommitAsync(cancellationToken);
            return result;
        }

        // Only a batch with findings waits for the incident change lock (JoinChangesAsync), after its alerts are written.
        var changes = await incidents.JoinChangesAsync(write, cancellationToken);
        await incidents.RecordAsync(changes, agent.AgentId, agent.Hostname, findings, cancellationToken);
        await changes.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>Acknowledges an alert unless it already is, audited when this call did.</summary>
    public async Task AcknowledgeAsync(string alertId, Caller caller, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        if (await FimAlertStore.AcknowledgeAsync(write, alertId, time.GetUtcNow(), caller.TokenId, cancellationToken))
            await audit.AppendAsync(write, caller, "fim-alert.acknowledge", "fim-alert", alertId, new { acknowledgedAt = (DateTimeOffset?)null }, new { acknowledgedAt = time.GetUtcNow() }, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }
}

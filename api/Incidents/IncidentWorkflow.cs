using Platform.Api.Audit;
using Platform.Api.Telemetry;
using Platform.Api.Webhooks;

namespace Platform.Api.Incidents;

/// <summary>
/// Changes incidents with everything that goes with a change, in its transaction: the audit entry of a person's change,
/// the webhook event of every change (the outbox) and the pin that keeps an incident's flight data. The SQL of each is
/// its own store's (<see cref="IncidentStore"/>, <see cref="AuditLog"/>, <see cref="WebhookStore"/>, <see cref="TelemetryPins"/>).
/// </summary>
public sealed class IncidentWorkflow(IncidentStore store, AuditLog audit, TelemetryPins pins, WebhookStore webhooks, WebhookDispatcher dispatcher, TimeProvider time)
{
    /// <summary>A transaction for incident changes (<see cref="IncidentStore.BeginChangesAsync"/>); the webhook dispatcher is woken when it commits.</summary>
    public Task<IncidentStore.Changes> BeginChangesAsync(CancellationToken cancellationToken, bool background = false) =>
        store.BeginChangesAsync(dispatcher.Wake, cancellationToken, background);

    /// <summary>Incident changes in a write already begun (<see cref="IncidentStore.JoinChangesAsync"/>); the webhook dispatcher is woken when it commits.</summary>
    public Task<IncidentStore.Changes> JoinChangesAsync(Database.Write write, CancellationToken cancellationToken) =>
        store.JoinChangesAsync(write, dispatcher.Wake, cancellationToken);

    /// <summary>
    /// Records findings (<see cref="IncidentStore.RecordAsync"/>); a new incident pins its flight data, one that took new
    /// findings moves its pin to cover them; one webhook event an incident, with its state at the end.
    /// </summary>
    public async Task<IReadOnlyList<IncidentRow>> RecordAsync(IncidentStore.Changes changes, string agentId, string hostname, IReadOnlyList<Finding> findings, CancellationToken cancellationToken,
        Func<Finding, bool>? revise = null, bool alone = false)
    {
        var recorded = await store.RecordAsync(changes, agentId, hostname, findings, cancellationToken, revise, alone);
        foreach (var incident in recorded.Touched)
        {
            if (recorded.Created.Contains(incident.IncidentId))
            {
                await pins.PinAsync(changes.Write, incident.PinId!, incident.AgentId, incident.ContainerId.Length == 0 ? null : incident.ContainerId,
                    incident.FirstSeen, incident.LastSeen, $"incident {incident.IncidentId}", cancellationToken);
            }
            else if (recorded.Grown.Contains(incident.IncidentId))
            {
                await pins.CoverAsync(changes.Write, incident.PinId!, incident.FirstSeen, incident.LastSeen, cancellationToken);
            }
        }

        foreach (var incident in recorded.Touched)
            await NotifyAsync(changes, incident, recorded.Created.Contains(incident.IncidentId), cancellationToken);
        return recorded.Touched;
    }

    public async Task<(IncidentRow? Row, ChangeRefusal Refusal)> ChangeStatusAsync(string incidentId, string? ifMatch, IncidentStatusChange change, Caller actor, Func<IncidentRow, object> snapshot, CancellationToken cancellationToken)
    {
        await using var changes = await BeginChangesAsync(cancellationToken);
        var (row, refusal) = await store.FindForChangeAsync(changes, incidentId, ifMatch, cancellationToken);
        if (refusal != ChangeRefusal.None)
            return (row, refusal);
        if (row!.Status == SpecEnum.ToSpec(change.Status))
            return (row, ChangeRefusal.None);
        if (!IncidentStore.Allowed(row.Status, change.Status))
            return (row, ChangeRefusal.NotAllowed);
        await ApplyStatusAsync(changes, row, change, actor, snapshot, cancellationToken);
        await changes.CommitAsync(cancellationToken);
        return (row, ChangeRefusal.None);
    }

    /// <summary>
    /// Resolves an incident the platform itself raised, when what it was about is over (an agent's heartbeats came
    /// back): audited and in its history with no actor (the platform). False when it is no longer open or acknowledged
    /// (a person resolved or archived it first).
    /// </summary>
    public async Task<bool> ResolveByPlatformAsync(IncidentStore.Changes changes, string incidentId, IncidentResolution resolution, string reason, CancellationToken cancellationToken)
    {
        var (row, _) = await store.FindForChangeAsync(changes, incidentId, null, cancellationToken);
        if (row is null || !IncidentStore.Allowed(row.Status, IncidentStatus.Resolved))
            return false;
        await ApplyStatusAsync(changes, row, new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = resolution, Reason = reason }, null, IncidentContracts.ToContract, cancellationToken);
        return true;
    }

    public async Task<(IncidentRow? Row, ChangeRefusal Refusal)> AssignAsync(string incidentId, string? ifMatch, string? assignee, Caller actor, Func<IncidentRow, object> snapshot, CancellationToken cancellationToken)
    {
        await using var changes = await BeginChangesAsync(cancellationToken);
        var (row, refusal) = await store.FindForChangeAsync(changes, incidentId, ifMatch, cancellationToken);
        if (refusal != ChangeRefusal.None || row!.Assignee == assignee)
            return (row, refusal);
        var before = snapshot(row);
        row.Assignee = assignee;
        row.ChangeSeq = await changes.NextChangeAsync();
        row.Version++;
        row.UpdatedAt = time.GetUtcNow();
        await store.UpdateAsync(changes, row, cancellationToken);
        await audit.AppendAsync(changes.Write, actor, "incident.assign", "incident", incidentId, before, snapshot(row), cancellationToken);
        await NotifyAsync(changes, row, created: false, cancellationToken);
        await changes.CommitAsync(cancellationToken);
        return (row, ChangeRefusal.None);
    }

    public async Task<NoteRow?> AddNoteAsync(string incidentId, string text, Caller actor, CancellationToken cancellationToken)
    {
        await using var changes = await BeginChangesAsync(cancellationToken);
        var (row, refusal) = await store.FindForChangeAsync(changes, incidentId, null, cancellationToken);
        if (refusal != ChangeRefusal.None)
            return null;
        var note = new NoteRow { NoteId = Storage.Ids.New("not"), IncidentId = incidentId, Text = text, Author = actor.TokenId, CreatedAt = time.GetUtcNow() };
        await store.InsertNoteAsync(changes, note, cancellationToken);
        row!.ChangeSeq = await changes.NextChangeAsync();
        row.Version++;
        row.UpdatedAt = note.CreatedAt;
        await store.UpdateAsync(changes, row, cancellationToken);
        await audit.AppendAsync(changes.Write, actor, "incident.note", "incident", incidentId, null, new { note = note.NoteId, text }, cancellationToken);
        await NotifyAsync(changes, row, created: false, cancellationToken);
        await changes.CommitAsync(cancellationToken);
        return note;
    }

    public const int BulkLimit = 1000;

    public async Task<IncidentBulkResult> ChangeInBulkAsync(IncidentQuery query, IncidentStatusChange change, bool dryRun, Caller actor, Func<IncidentRow, object> snapshot, CancellationToken cancellationToken)
    {
        await using var changes = await BeginChangesAsync(cancellationToken);
        var (matched, applicableCount, rows) = await store.ForBulkChangeAsync(changes, query, change.Status, BulkLimit, cancellationToken);
        if (!dryRun)
        {
            foreach (var row in rows)
                await ApplyStatusAsync(changes, row, change, actor, snapshot, cancellationToken);
            await changes.CommitAsync(cancellationToken);
        }

        return new IncidentBulkResult { DryRun = dryRun, Matched = matched, Changed = rows.Count, Skipped = matched - applicableCount, Remaining = applicableCount - rows.Count };
    }

    /// <summary>Applies a status change to a row already read in <paramref name="changes"/>: stored, pin released or kept, audited.</summary>
    private async Task ApplyStatusAsync(IncidentStore.Changes changes, IncidentRow row, IncidentStatusChange change, Caller? actor, Func<IncidentRow, object> snapshot, CancellationToken cancellationToken)
    {
        var before = snapshot(row);
        var now = time.GetUtcNow();
        var reopened = change.Status == IncidentStatus.Open;
        var entry = new IncidentHistoryRecord(now, actor?.TokenId, row.Status, SpecEnum.ToSpec(change.Status),
            change.Status == IncidentStatus.Resolved ? SpecEnum.ToSpec(change.Resolution!.Value) : null, change.Reason,
            reopened ? row.Resolution : null, reopened ? row.ResolutionReason : null);
        var history = JsonSerializer.Deserialize<List<IncidentHistoryRecord>>(row.HistoryJson, IncidentStore.HistoryJson) ?? [];
        history.Add(entry);
        row.HistoryJson = JsonSerializer.Serialize(history.TakeLast(IncidentStore.MaxHistory), IncidentStore.HistoryJson);
        row.Status = SpecEnum.ToSpec(change.Status);
        (row.Resolution, row.ResolutionReason) = change.Status == IncidentStatus.Resolved
            ? (SpecEnum.ToSpec(change.Resolution!.Value), change.Reason)
            : change.Status == IncidentStatus.Archived ? (row.Resolution, row.ResolutionReason) : (null, null);
        row.ChangeSeq = await changes.NextChangeAsync();
        row.Version++;
        row.UpdatedAt = now;
        await store.UpdateAsync(changes, row, cancellationToken);
        // Archived: its pinned data is kept for the retention period after this; reopened: kept again.
        if (change.Status == IncidentStatus.Archived)
            await pins.ReleaseAsync(changes.Write, row.PinId!, now, cancellationToken);
        else
            await pins.KeepAsync(changes.Write, row.PinId!, cancellationToken);
        var action = change.Status switch
        {
            IncidentStatus.Acknowledged => "incident.acknowledge",
            IncidentStatus.Resolved => "incident.resolve",
            IncidentStatus.Archived => "incident.archive",
            _ => "incident.reopen",
        };
        await audit.AppendAsync(changes.Write, actor, action, "incident", row.IncidentId, before, snapshot(row), cancellationToken);
        await NotifyAsync(changes, row, created: false, cancellationToken);
    }

    /// <summary>Queues the webhook event of a change, in its transaction (the outbox).</summary>
    private Task NotifyAsync(IncidentStore.Changes changes, IncidentRow row, bool created, CancellationToken cancellationToken) =>
        webhooks.EnqueueAsync(changes.Write, created ? WebhookEventType.Incident_created : WebhookEventType.Incident_updated, IncidentContracts.ToContract(row),
            async () => (await store.FindingsAsync(changes.Write, row.IncidentId, Ocsf.OcsfIncidents.MaxFindings, cancellationToken)).Select(IncidentContracts.ToContract).ToList(),
            cancellationToken);
}

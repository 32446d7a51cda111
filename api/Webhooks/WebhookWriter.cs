using Platform.Api.Audit;

namespace Platform.Api.Webhooks;

/// <summary>Why a webhook change was refused: not there (404), a stale If-Match (412), changed by another write meanwhile (412).</summary>
public enum WebhookRefusal
{
    None,
    NotFound,
    Stale,
    ChangedMeanwhile,
}

/// <summary>Webhook changes with their audit entry, each in one write; a replaced webhook wakes the dispatcher.</summary>
public sealed class WebhookWriter(Database database, WebhookStore store, AuditLog audit, TimeProvider time, WebhookDispatcher dispatcher)
{
    public async Task<WebhookRow> CreateAsync(Caller caller, WebhookSpec body, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var row = new WebhookRow
        {
            WebhookId = Ids.New("whk"), Url = body.Url, Events = Events(body), Description = body.Description, Secret = body.Secret ?? Secrets.New("whsec_"),
            Enabled = body.Enabled == false ? 0 : 1, CreatedAt = now, UpdatedAt = now, Version = 1,
        };
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await store.InsertAsync(write, row, cancellationToken);
        await audit.AppendAsync(write, caller, "webhook.create", "webhook", row.WebhookId, null, WebhookEndpoints.ToContract(row), cancellationToken);
        await write.CommitAsync(cancellationToken);
        return row;
    }

    /// <summary>Queues a copy of a delivery (null when the webhook has no such delivery) and wakes the dispatcher.</summary>
    public async Task<DeliveryRow?> RedeliverAsync(string webhookId, string deliveryId, CancellationToken cancellationToken)
    {
        DeliveryRow? copy;
        await using (var write = await database.BeginWriteAsync(cancellationToken))
        {
            copy = await store.RedeliverAsync(write, webhookId, deliveryId, cancellationToken);
            await write.CommitAsync(cancellationToken);
        }

        if (copy is not null)
            dispatcher.Wake();
        return copy;
    }

    public async Task<(WebhookRow? Row, WebhookRefusal Refusal)> ReplaceAsync(Caller caller, string webhookId, string? ifMatch, WebhookSpec body, CancellationToken cancellationToken)
    {
        await using (var write = await database.BeginWriteAsync(cancellationToken))
        {
            var (row, refusal) = await FindForChangeAsync(write, webhookId, ifMatch, cancellationToken);
            if (refusal != WebhookRefusal.None)
                return (row, refusal);
            var before = WebhookEndpoints.ToContract(row!);
            var enable = body.Enabled != false;
            var expected = row!.Version;
            (row.Url, row.Events, row.Description, row.Secret) = (body.Url, Events(body), body.Description, body.Secret ?? row.Secret);
            if (enable && row.Enabled == 0)
                (row.ConsecutiveFailures, row.DisabledReason) = (0, null); // enabled again: a fresh start
            row.Enabled = enable ? 1 : 0;
            row.UpdatedAt = time.GetUtcNow();
            row.Version++;
            if (!await store.UpdateAsync(write, row, expected, cancellationToken))
                return (row, WebhookRefusal.ChangedMeanwhile);
            await audit.AppendAsync(write, caller, "webhook.replace", "webhook", webhookId, before, WebhookEndpoints.ToContract(row), cancellationToken);
            await write.CommitAsync(cancellationToken);
            dispatcher.Wake();
            return (row, WebhookRefusal.None);
        }
    }

    public async Task<(WebhookRow? Row, WebhookRefusal Refusal)> DeleteAsync(Caller caller, string webhookId, string? ifMatch, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (row, refusal) = await FindForChangeAsync(write, webhookId, ifMatch, cancellationToken);
        if (refusal != WebhookRefusal.None)
            return (row, refusal);
        await store.DeleteAsync(write, webhookId, cancellationToken);
        await audit.AppendAsync(write, caller, "webhook.delete", "webhook", webhookId, WebhookEndpoints.ToContract(row!), null, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (row, WebhookRefusal.None);
    }

    private async Task<(WebhookRow? Row, WebhookRefusal Refusal)> FindForChangeAsync(Database.Write write, string webhookId, string? ifMatch, CancellationToken cancellationToken)
    {
        var row = await store.FindAsync(write, webhookId, cancellationToken);
        if (row is null)
            return (null, WebhookRefusal.NotFound);
        return (row, ETags.Matches(ifMatch, row.Version) ? WebhookRefusal.None : WebhookRefusal.Stale);
    }

    private static string Events(WebhookSpec body) => string.Join(',', body.Events.Select(SpecEnum.ToSpec));
}

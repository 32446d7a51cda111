using Platform.Api.Audit;

namespace Platform.Api.Webhooks;

/// <summary>
/// Why a webhook change was refused: not there (404), a stale If-Match (412), changed by another write meanwhile (412),
/// another signature scheme than the one chosen at creation (400), a secret the scheme cannot use (400).
/// </summary>
public enum WebhookRefusal
{
    None,
    NotFound,
    Stale,
    ChangedMeanwhile,
    SchemeChanged,
    SecretFormat,
}

/// <summary>Webhook changes with their audit entry, each in one write; a replaced webhook wakes the dispatcher.</summary>
public sealed class WebhookWriter(Database database, WebhookStore store, AuditLog audit, TimeProvider time, WebhookDispatcher dispatcher)
{
    /// <summary>The longest a rotated secret stays valid beside the new one (rotateWebhookSecret's overlapSeconds maximum).</summary>
    public static readonly TimeSpan MaxOverlap = TimeSpan.FromHours(24);

    /// <summary>The subscription, or null with <see cref="WebhookRefusal.SecretFormat"/> when the given secret does not fit the scheme.</summary>
    public async Task<(WebhookRow? Row, WebhookRefusal Refusal)> CreateAsync(Caller caller, WebhookSpec body, CancellationToken cancellationToken)
    {
        var scheme = body.SignatureScheme ?? WebhookSignatureScheme.StandardWebhooks;
        if (body.Secret is { } given && !WebhookSigning.SecretFits(scheme, given))
            return (null, WebhookRefusal.SecretFormat);
        var now = time.GetUtcNow();
        var row = new WebhookRow
        {
            WebhookId = Ids.New("whk"), Url = body.Url, Events = Events(body), Description = body.Description, Secret = body.Secret ?? WebhookSigning.NewSecret(scheme),
            SignatureScheme = SpecEnum.ToSpec(scheme), PayloadFormat = SpecEnum.ToSpec(body.PayloadFormat ?? WebhookPayloadFormat.Platform), Enabled = body.Enabled == false ? 0 : 1, CreatedAt = now, UpdatedAt = now, Version = 1,
        };
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await store.InsertAsync(write, row, cancellationToken);
        await audit.AppendAsync(write, caller, "webhook.create", "webhook", row.WebhookId, null, WebhookEndpoints.ToContract(row), cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (row, WebhookRefusal.None);
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
            if (body.SignatureScheme is { } scheme && scheme != row!.Scheme)
                return (row, WebhookRefusal.SchemeChanged);
            if (body.Secret is { } given && !WebhookSigning.SecretFits(row!.Scheme, given))
                return (row, WebhookRefusal.SecretFormat);
            var before = WebhookEndpoints.ToContract(row!);
            var enable = body.Enabled != false;
            var expected = row!.Version;
            (row.Url, row.Events, row.Description) = (body.Url, Events(body), body.Description);
            if (body.PayloadFormat is { } payloadFormat)
                row.PayloadFormat = SpecEnum.ToSpec(payloadFormat); // absent: kept, as the secret is
            if (body.Secret is { } replaced && replaced != row.Secret)
                (row.Secret, row.PreviousSecret, row.PreviousSecretExpiresAt) = (replaced, null, null); // a secret set by hand takes over at once
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

    /// <summary>
    /// A new secret (returned, to be shown once), the current one kept valid beside it for <paramref name="overlap"/>
    /// (zero: not at all); a previous secret still in an earlier overlap is dropped, so at most two are ever valid.
    /// </summary>
    public async Task<(WebhookRow? Row, string? Secret, WebhookRefusal Refusal)> RotateSecretAsync(
        Caller caller, string webhookId, string? ifMatch, TimeSpan overlap, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (row, refusal) = await FindForChangeAsync(write, webhookId, ifMatch, cancellationToken);
        if (refusal != WebhookRefusal.None)
            return (row, null, refusal);
        var before = WebhookEndpoints.ToContract(row!);
        var expected = row!.Version;
        var now = time.GetUtcNow();
        var secret = WebhookSigning.NewSecret(row.Scheme);
        (row.PreviousSecret, row.PreviousSecretExpiresAt) = overlap > TimeSpan.Zero ? (row.Secret, now + overlap) : ((string?)null, (DateTimeOffset?)null);
        row.Secret = secret;
        row.UpdatedAt = now;
        row.Version++;
        if (!await store.UpdateAsync(write, row, expected, cancellationToken))
            return (row, null, WebhookRefusal.ChangedMeanwhile);
        await audit.AppendAsync(write, caller, "webhook.rotate-secret", "webhook", webhookId, before, WebhookEndpoints.ToContract(row), cancellationToken);
        await write.CommitAsync(cancellationToken);
        return (row, secret, WebhookRefusal.None);
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

namespace Platform.Api.Webhooks;

public sealed class WebhookRow
{
    public required string WebhookId { get; init; }
    public required string Url { get; set; }
    public required string Events { get; set; }
    public string? Description { get; set; }
    public required string Secret { get; set; }

    /// <summary>The WebhookSignatureScheme's spec value; fixed at creation.</summary>
    public required string SignatureScheme { get; init; }

    /// <summary>The secret before the last rotation, valid beside <see cref="Secret"/> until <see cref="PreviousSecretExpiresAt"/>, then cleared.</summary>
    public string? PreviousSecret { get; set; }
    public DateTimeOffset? PreviousSecretExpiresAt { get; set; }
    public int Enabled { get; set; }
    public string? DisabledReason { get; set; }
    public int ConsecutiveFailures { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public int Version { get; set; }

    public WebhookSignatureScheme Scheme => SpecEnum.FromSpec<WebhookSignatureScheme>(SignatureScheme);

    /// <summary>The WebhookPayloadFormat's spec value.</summary>
    public string PayloadFormat { get; set; } = "platform";
}

public sealed class DeliveryRow
{
    public required string DeliveryId { get; init; }
    public required string WebhookId { get; init; }
    public required string EventId { get; init; }
    public required string EventType { get; init; }
    public required string IncidentId { get; init; }
    public required string Payload { get; init; }
    public required string Status { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset? NextAttemptAt { get; set; }
    public DateTimeOffset? LastAttemptAt { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DeliveredAt { get; set; }
    public string? RedeliveryOf { get; init; }
}

/// <summary>Subscriptions, and the outbox of deliveries (written with the incident change they tell of).</summary>
public sealed class WebhookStore(Database database, TimeProvider time)
{
    private const string Columns =
        "webhook_id, url, events, description, secret, signature_scheme, payload_format, previous_secret, previous_secret_expires_at, enabled, disabled_reason, consecutive_failures, created_at, updated_at, version";
    private static readonly string Insert = InsertStatement.For("webhook", Columns);

    private const string DeliveryColumns =
        "delivery_id, webhook_id, event_id, event_type, incident_id, payload, status, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, delivered_at, redelivery_of";
    private static readonly string InsertDelivery = InsertStatement.For("webhook_delivery", DeliveryColumns);

    private static readonly JsonSerializerOptions PayloadJson = new(Telemetry.Segments.Json);

    public async Task InsertAsync(Database.Write write, WebhookRow row, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(Insert, row, cancellationToken);

    public async Task<bool> UpdateAsync(Database.Write write, WebhookRow row, int expectedVersion, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            """
            update webhook set url = @Url, events = @Events, description = @Description, secret = @Secret, payload_format = @PayloadFormat, previous_secret = @PreviousSecret,
                previous_secret_expires_at = @PreviousSecretExpiresAt, enabled = @Enabled, disabled_reason = @DisabledReason,
                consecutive_failures = @ConsecutiveFailures, updated_at = @UpdatedAt, version = @Version
            where webhook_id = @WebhookId and version = @expectedVersion
            """,
            new
            {
                row.Url, row.Events, row.Description, row.Secret, row.PayloadFormat, row.PreviousSecret, row.PreviousSecretExpiresAt, row.Enabled, row.DisabledReason, row.ConsecutiveFailures,
                row.UpdatedAt, row.Version, row.WebhookId, expectedVersion,
            }, cancellationToken) == 1;

    private const string OverlapEnded = "previous_secret is not null and previous_secret_expires_at <= @now";

    /// <summary>Whether a rotated secret's overlap has ended with the secret still stored: a read, as most passes find none.</summary>
    public async Task<bool> AnyOverlapEndedAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteScalarAsync<bool>(new CommandDefinition($"select exists (select 1 from webhook where {OverlapEnded})", new { now }, cancellationToken: cancellationToken));
    }

    /// <summary>Deletes previous secrets whose overlap has ended: a secret that signs nothing any more is not kept.</summary>
    public async Task<int> ForgetEndedOverlapsAsync(Database.Write write, DateTimeOffset now, CancellationToken cancellationToken) =>
        await write.ExecuteAsync($"update webhook set previous_secret = null, previous_secret_expires_at = null where {OverlapEnded}", new { now }, cancellationToken);

    public async Task DeleteAsync(Database.Write write, string webhookId, CancellationToken cancellationToken)
    {
        await write.ExecuteAsync("delete from webhook_delivery where webhook_id = @webhookId", new { webhookId }, cancellationToken);
        await write.ExecuteAsync("delete from webhook where webhook_id = @webhookId", new { webhookId }, cancellationToken);
    }

    private const string FindSql = $"select {Columns} from webhook where webhook_id = @webhookId";

    public Task<WebhookRow?> FindAsync(string webhookId, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<WebhookRow>(FindSql, new { webhookId }, cancellationToken);

    public Task<WebhookRow?> FindAsync(Database.Write write, string webhookId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<WebhookRow>(FindSql, new { webhookId }, cancellationToken);

    public Task<IReadOnlyList<WebhookRow>> ListAsync(string? afterId, int take, CancellationToken cancellationToken) =>
        database.QueryAsync<WebhookRow>(
            $"select {Columns} from webhook where (@afterId is null or webhook_id > @afterId) order by webhook_id limit @take", new { afterId, take }, cancellationToken);

    /// <summary>
    /// Queues the event for every enabled subscription to its type, in the transaction of the change it tells of, in
    /// the payload format each chose. <paramref name="findings"/> (the incident's, for the OCSF payload) is read only
    /// when a subscriber wants OCSF.
    /// </summary>
    public async Task<int> EnqueueAsync(Database.Write write, WebhookEventType type, Incident incident, Func<Task<IReadOnlyList<IncidentFinding>>> findings,
        CancellationToken cancellationToken)
    {
        var typeName = SpecEnum.ToSpec(type);
        var subscribers = (await write.Db.QueryAsync<(string WebhookId, string Events, string PayloadFormat)>(new CommandDefinition(
            "select webhook_id, events, payload_format from webhook where enabled = 1", transaction: write.Transaction, cancellationToken: cancellationToken)))
            .Where(w => w.Events.Split(',').Contains(typeName)).ToList();
        if (subscribers.Count == 0)
            return 0;
        var now = time.GetUtcNow();
        var eventId = Ids.New("evt");
        var payloads = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var format in subscribers.Select(s => s.PayloadFormat).Distinct())
        {
            payloads[format] = format == "ocsf"
                ? Ocsf.OcsfIncidents.IncidentFinding(incident, await findings(), consoleBase: null).ToJsonString()
                : JsonSerializer.Serialize(new WebhookEvent { Id = eventId, Type = type, Time = now, Incident = incident }, PayloadJson);
        }
        var ids = Ids.New("whd", subscribers.Count);
        await write.ExecuteAsync(
            InsertDelivery,
            subscribers.Select((w, i) => new DeliveryRow
            {
                DeliveryId = ids[i], WebhookId = w.WebhookId, EventId = eventId, EventType = typeName, IncidentId = incident.Id, Payload = payloads[w.PayloadFormat],
                Status = "pending", NextAttemptAt = now, CreatedAt = now,
            }), cancellationToken);
        return subscribers.Count;
    }

    private const string Due = "status = 'pending' and next_attempt_at <= @now and (claimed_until is null or claimed_until < @now)";

    /// <summary>Whether any delivery is due: a read first, as most polls find nothing and should not take SQLite's one writer lock to say so.</summary>
    public async Task<bool> AnyDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteScalarAsync<bool>(new CommandDefinition($"select exists (select 1 from webhook_delivery where {Due})", new { now }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Takes up to <paramref name="take"/> due deliveries of enabled subscriptions for this instance until
    /// <paramref name="claimUntil"/>. PostgreSQL skips rows another instance is taking (SKIP LOCKED); each delivery
    /// is sent by one instance at a time.
    /// </summary>
    public async Task<IReadOnlyList<DeliveryRow>> ClaimDueAsync(Database.Write write, DateTimeOffset now, DateTimeOffset claimUntil, int take, CancellationToken cancellationToken)
    {
        var skipLocked = database.Provider == StorageProvider.Postgres ? "for update skip locked" : "";
        return (await write.Db.QueryAsync<DeliveryRow>(new CommandDefinition(
            $"""
            update webhook_delivery set claimed_until = @claimUntil
            where delivery_id in (
                select delivery_id from webhook_delivery
                where {Due}
                  and webhook_id in (select webhook_id from webhook where enabled = 1)
                order by next_attempt_at, delivery_id
                limit @take
                {skipLocked})
            returning {DeliveryColumns}
            """,
            new { now, claimUntil, take }, write.Transaction, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>What an attempt came to: the delivery's state, and the subscription's failure count (disabled past the limit).</summary>
    public async Task RecordAttemptAsync(Database.Write write, DeliveryRow delivery, int? statusCode, string? error, WebhookOptions options, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var success = error is null && statusCode is >= 200 and < 300;
        delivery.Attempts++;
        delivery.LastAttemptAt = now;
        delivery.LastStatusCode = statusCode;
        delivery.LastError = error;
        if (success)
        {
            (delivery.Status, delivery.DeliveredAt, delivery.NextAttemptAt) = ("delivered", now, null);
        }
        else if (delivery.Attempts >= options.MaxAttempts)
        {
            (delivery.Status, delivery.NextAttemptAt) = ("failed", null);
        }
        else
        {
            delivery.NextAttemptAt = now + WebhookOptions.Backoff(delivery.Attempts);
        }

        var (db, transaction) = (write.Db, write.Transaction);
        await db.ExecuteAsync(new CommandDefinition(
            """
            update webhook_delivery set status = @Status, attempts = @Attempts, next_attempt_at = @NextAttemptAt, last_attempt_at = @LastAttemptAt,
                last_status_code = @LastStatusCode, last_error = @LastError, delivered_at = @DeliveredAt, claimed_until = null
            where delivery_id = @DeliveryId
            """, delivery, transaction, cancellationToken: cancellationToken));
        if (success)
        {
            await db.ExecuteAsync(new CommandDefinition("update webhook set consecutive_failures = 0 where webhook_id = @WebhookId", delivery, transaction, cancellationToken: cancellationToken));
        }
        else
        {
            var reason = $"{options.DisableAfterFailures} attempts in a row failed (last: {error ?? $"HTTP {statusCode}"}).";
            await db.ExecuteAsync(new CommandDefinition(
                """
                update webhook set consecutive_failures = consecutive_failures + 1,
                    enabled = case when consecutive_failures + 1 >= @limit then 0 else enabled end,
                    disabled_reason = case when consecutive_failures + 1 >= @limit and enabled = 1 then @reason else disabled_reason end
                where webhook_id = @webhookId
                """,
                new { webhookId = delivery.WebhookId, limit = options.DisableAfterFailures, reason }, transaction, cancellationToken: cancellationToken));
        }
    }

    public Task<IReadOnlyList<DeliveryRow>> DeliveriesAsync(string webhookId, string? beforeId, int take, CancellationToken cancellationToken) =>
        database.QueryAsync<DeliveryRow>(
            $"select {DeliveryColumns} from webhook_delivery where webhook_id = @webhookId and (@beforeId is null or delivery_id < @beforeId) order by delivery_id desc limit @take",
            new { webhookId, beforeId, take }, cancellationToken);

    public async Task<DeliveryRow?> RedeliverAsync(Database.Write write, string webhookId, string deliveryId, CancellationToken cancellationToken)
    {
        var original = await write.QuerySingleOrDefaultAsync<DeliveryRow>(
            $"select {DeliveryColumns} from webhook_delivery where webhook_id = @webhookId and delivery_id = @deliveryId", new { webhookId, deliveryId }, cancellationToken);
        if (original is null)
            return null;
        var now = time.GetUtcNow();
        var copy = new DeliveryRow
        {
            DeliveryId = Ids.New("whd"), WebhookId = webhookId, EventId = original.EventId, EventType = original.EventType, IncidentId = original.IncidentId,
            Payload = original.Payload, Status = "pending", NextAttemptAt = now, CreatedAt = now, RedeliveryOf = original.DeliveryId,
        };
        await write.ExecuteAsync(InsertDelivery, copy, cancellationToken);
        return copy;
    }
}

using FluentValidation;
using Platform.Api.Generated;

namespace Platform.Api.Webhooks;

public sealed class WebhookSpecValidator : AbstractValidator<WebhookSpec>
{
    public WebhookSpecValidator(OutboundAddresses addresses)
    {
        RuleFor(w => w.Url).Custom((url, context) =>
        {
            if (url is not null && addresses.UrlProblem(url) is { } problem)
                context.AddFailure("url", $"'url' {problem}.");
        });
        RuleFor(w => w.Events).Must(events => events.Distinct().Count() == events.Count).WithMessage("List each event once.");
    }
}

public sealed class WebhookEndpoints(WebhookStore store, WebhookWriter writer, Cursors cursors) : WebhooksHandlersBase
{
    public override async Task<Results<Created<WebhookCreated>, ProblemHttpResult>> CreateWebhook(HttpContext http, WebhookSpec body, CancellationToken cancellationToken)
    {
        var (row, refusal) = await writer.CreateAsync(http.Caller(), body, cancellationToken);
        if (row is null)
            return Refused("(new)", null, refusal);
        http.Response.Headers.ETag = ETags.For(row.Version);
        return TypedResults.Created($"/api/v1/webhooks/{row.WebhookId}", new WebhookCreated { Webhook = ToContract(row), Secret = row.Secret });
    }

    public override async Task<Results<Ok<WebhookPage>, ProblemHttpResult>> ListWebhooks(HttpContext http, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var rows = await store.ListAsync(cursors.TryDecode(CursorLists.Webhooks, cursor, out var after) ? after : null, limit + 1, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Webhooks, w => w.WebhookId);
        return TypedResults.Ok(new WebhookPage { Items = items.Select(ToContract).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<Webhook>, ProblemHttpResult>> GetWebhook(HttpContext http, string webhookId, CancellationToken cancellationToken)
    {
        return await store.FindAsync(webhookId, cancellationToken) is { } row ? ETags.Ok(http, row.Version, ToContract(row)) : NotFound(webhookId);
    }

    public override async Task<Results<Ok<Webhook>, ProblemHttpResult>> ReplaceWebhook(HttpContext http, string? if_Match, WebhookSpec body, string webhookId, CancellationToken cancellationToken)
    {
        var (row, refusal) = await writer.ReplaceAsync(http.Caller(), webhookId, if_Match, body, cancellationToken);
        if (refusal != WebhookRefusal.None)
            return Refused(webhookId, row, refusal);
        return ETags.Ok(http, row!.Version, ToContract(row));
    }

    public override async Task<Results<NoContent, ProblemHttpResult>> DeleteWebhook(HttpContext http, string? if_Match, string webhookId, CancellationToken cancellationToken)
    {
        var (row, refusal) = await writer.DeleteAsync(http.Caller(), webhookId, if_Match, cancellationToken);
        return refusal == WebhookRefusal.None ? TypedResults.NoContent() : Refused(webhookId, row, refusal);
    }

    public override async Task<Results<Ok<WebhookSecretRotated>, ProblemHttpResult>> RotateWebhookSecret(
        HttpContext http, string? if_Match, WebhookSecretRotation body, string webhookId, CancellationToken cancellationToken)
    {
        var (row, secret, refusal) = await writer.RotateSecretAsync(http.Caller(), webhookId, if_Match, Overlap(body), cancellationToken);
        if (refusal != WebhookRefusal.None)
            return Refused(webhookId, row, refusal);
        http.Response.Headers.ETag = ETags.For(row!.Version);
        return TypedResults.Ok(new WebhookSecretRotated { Webhook = ToContract(row), Secret = secret! });
    }

    public override async Task<Results<Ok<WebhookDeliveryPage>, ProblemHttpResult>> ListWebhookDeliveries(HttpContext http, int limit, string? cursor, string webhookId, CancellationToken cancellationToken)
    {
        var page = await cursors.PageAsync(CursorLists.WebhookDeliveries, cursor, limit, async (after, take) =>
            await store.FindAsync(webhookId, cancellationToken) is null ? null : await store.DeliveriesAsync(webhookId, after, take, cancellationToken), d => d.DeliveryId);
        return page is var (items, next) ? TypedResults.Ok(new WebhookDeliveryPage { Items = items.Select(ToContract).ToList(), NextCursor = next }) : NotFound(webhookId);
    }

    public override async Task<Results<Accepted<WebhookDelivery>, ProblemHttpResult>> RedeliverWebhookDelivery(HttpContext http, string webhookId, string deliveryId, CancellationToken cancellationToken)
    {
        var copy = await writer.RedeliverAsync(webhookId, deliveryId, cancellationToken);
        if (copy is null)
            return Problems.NotFound($"Webhook '{webhookId}' has no delivery '{deliveryId}'.");
        return TypedResults.Accepted($"/api/v1/webhooks/{webhookId}/deliveries", ToContract(copy));
    }

    /// <summary>The overlap asked for (the spec bounds it to 0..86400 s), or the longest when not said.</summary>
    private static TimeSpan Overlap(WebhookSecretRotation body) => body.OverlapSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : WebhookWriter.MaxOverlap;

    private static ProblemHttpResult NotFound(string webhookId) => Problems.NotFound($"There is no webhook '{webhookId}'.");

    private static ProblemHttpResult Refused(string webhookId, WebhookRow? row, WebhookRefusal refusal) => refusal switch
    {
        WebhookRefusal.NotFound => NotFound(webhookId),
        WebhookRefusal.Stale => Problems.PreconditionFailed($"Webhook '{webhookId}' is at version {row!.Version}; read it again and retry."),
        WebhookRefusal.SchemeChanged => Problems.Validation(
            "signatureScheme", $"'signatureScheme' is chosen at creation ({row!.SignatureScheme} here); create a new subscription to sign another way."),
        WebhookRefusal.SecretFormat => Problems.Validation("secret", $"'secret' must be {StandardWebhookSignature.SecretRule} (signatureScheme standard-webhooks)."),
        _ => Problems.PreconditionFailed($"Webhook '{webhookId}' changed meanwhile; read it again and retry."),
    };

    public static Webhook ToContract(WebhookRow row) => new()
    {
        Id = row.WebhookId, Url = row.Url, Events = row.Events.Split(',').Select(SpecEnum.FromSpec<WebhookEventType>).ToList(), Description = row.Description,
        SignatureScheme = row.Scheme, PayloadFormat = SpecEnum.FromSpec<WebhookPayloadFormat>(row.PayloadFormat), PreviousSecretExpiresAt = row.PreviousSecret is null ? null : row.PreviousSecretExpiresAt,
        Enabled = row.Enabled == 1, DisabledReason = row.DisabledReason, ConsecutiveFailures = row.ConsecutiveFailures, CreatedAt = row.CreatedAt, UpdatedAt = row.UpdatedAt,
        Version = row.Version,
    };

    private static WebhookDelivery ToContract(DeliveryRow row) => new()
    {
        Id = row.DeliveryId, WebhookId = row.WebhookId, EventId = row.EventId, EventType = SpecEnum.FromSpec<WebhookEventType>(row.EventType), IncidentId = row.IncidentId,
        Status = SpecEnum.FromSpec<WebhookDeliveryStatus>(row.Status), Attempts = row.Attempts, NextAttemptAt = row.NextAttemptAt, LastAttemptAt = row.LastAttemptAt,
        LastStatusCode = row.LastStatusCode, LastError = row.LastError, CreatedAt = row.CreatedAt, DeliveredAt = row.DeliveredAt, RedeliveryOf = row.RedeliveryOf,
    };
}

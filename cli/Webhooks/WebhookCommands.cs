using System.Globalization;

namespace Platform.Cli.Webhooks;

/// <summary><c>webhooks ...</c>: signed incident events pushed to a SOAR tool (docs/soar.md), and their delivery log.</summary>
public static class WebhookCommands
{
    public static Command Webhooks(CliHost host)
    {
        var url = new Option<string>("--url") { Description = "Where to POST events (https; private addresses are refused unless the API allows them).", Required = true };
        var events = SpecValues<WebhookEventType>.Many("--event", "Which events (default: all)");
        var description = new Option<string?>("--description") { Description = "What it is for." };
        var scheme = SpecValues<WebhookSignatureScheme>.One("--scheme", "How deliveries are signed (default standard-webhooks; platform-v1 for receivers of the older scheme)");
        var overlap = new Option<TimeSpan?>("--overlap")
        {
            Description = "How long the old secret stays valid beside the new one (default and at most 24:00:00; 00:00:00 ends it now, as after a leak).",
        };
        var id = new Argument<string>("webhook") { Description = "The webhook's id (whk_...)." };
        var delivery = new Argument<string>("delivery") { Description = "The delivery's id (whd_...)." };
        return new Command("webhooks", "Webhooks: incident events pushed to a SOAR tool, signed; their delivery log (admin, operator).")
            .With(
                new Command("create", "Subscribe a URL; its signing secret is printed once, on standard output.").With(url, events, description, scheme).Does(host, async (run, cancellationToken) =>
                {
                    var created = await run.Client().CreateWebhookAsync(
                        new WebhookSpec
                        {
                            Url = run.Get(url)!,
                            Events = run.Get(events) is { Length: > 0 } chosen ? chosen : Enum.GetValues<WebhookEventType>(),
                            Description = run.Get(description),
                            SignatureScheme = run.Get(scheme),
                        },
                        cancellationToken);
                    return await run.Output.SecretAsync($"{created.Webhook.Id} ({created.Webhook.Url})", created.Secret);
                }),
                new Command("list", "The webhooks, and whether each is enabled.").Lists<Webhook>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListWebhooksAsync(limit, cursor, cancellationToken),
                    ("id", w => w.Id),
                    ("url", w => w.Url),
                    ("events", w => string.Join(",", w.Events.Select(Output.Spec))),
                    ("signed", w => Output.Spec(w.SignatureScheme) + (w.PreviousSecretExpiresAt is { } until ? $", old secret until {Output.Time(until)}" : "")),
                    ("enabled", w => w.Enabled ? "yes" : $"no: {w.DisabledReason}"),
                    ("failures", w => w.ConsecutiveFailures.ToString(CultureInfo.InvariantCulture))),
                new Command("rotate-secret", "Issue a new signing secret (printed once, on standard output); the old one stays valid for --overlap.")
                    .With(id, overlap).Does(host, async (run, cancellationToken) =>
                    {
                        var rotation = new WebhookSecretRotation();
                        if (run.Get(overlap) is { } asked)
                            rotation.OverlapSeconds = (int)Math.Ceiling(asked.TotalSeconds);
                        var rotated = await run.Client().RotateWebhookSecretAsync(rotation, run.Get(id)!, cancellationToken: cancellationToken);
                        var until = rotated.Webhook.PreviousSecretExpiresAt is { } end ? $"the old one is valid until {Output.Time(end)}" : "the old one is no longer valid";
                        return await run.Output.SecretAsync($"a new secret for {rotated.Webhook.Id} ({until})", rotated.Secret);
                    }),
                new Command("deliveries", "A webhook's delivery log, newest first.").With(id).Lists<WebhookDelivery>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListWebhookDeliveriesAsync(run.Get(id)!, limit, cursor, cancellationToken),
                    ("id", d => d.Id),
                    ("event", d => Output.Spec(d.EventType)),
                    ("incident", d => d.IncidentId),
                    ("status", d => Output.Spec(d.Status)),
                    ("attempts", d => d.Attempts.ToString(CultureInfo.InvariantCulture)),
                    ("last answer", d => d.LastStatusCode?.ToString(CultureInfo.InvariantCulture) ?? d.LastError),
                    ("created", d => Output.Time(d.CreatedAt))),
                new Command("redeliver", "Send a delivery's event again (a new delivery, same event id).").With(id, delivery).Does(host, async (run, cancellationToken) =>
                {
                    var again = await run.Client().RedeliverWebhookDeliveryAsync(run.Get(id)!, run.Get(delivery)!, cancellationToken);
                    run.Output.Result($"{again.Id} queued: {Output.Spec(again.EventType)} of {again.IncidentId}");
                    return ExitCodes.Ok;
                }),
                Switch(host, "enable", enabled: true, "Enable a webhook (after it was disabled by failures, what waited is sent)."),
                Switch(host, "disable", enabled: false, "Disable a webhook: events wait until it is enabled."),
                new Command("delete", "Delete a webhook and its delivery log.").With(id).Does(host, async (run, cancellationToken) =>
                {
                    await run.Client().DeleteWebhookAsync(run.Get(id)!, cancellationToken: cancellationToken);
                    await host.Error.WriteLineAsync($"deleted {run.Get(id)}");
                    return ExitCodes.Ok;
                }));
    }

    /// <summary>The webhook as it is, with <c>enabled</c> changed, sent with its ETag: a concurrent change is not overwritten.</summary>
    private static Command Switch(CliHost host, string name, bool enabled, string description)
    {
        var id = new Argument<string>("webhook") { Description = "The webhook's id (whk_...)." };
        return new Command(name, description).With(id).Does(host, async (run, cancellationToken) =>
        {
            var client = run.Client();
            var current = await client.GetWebhookAsync(run.Get(id)!, cancellationToken);
            var changed = await client.ReplaceWebhookAsync(
                new WebhookSpec { Url = current.Url, Events = current.Events, Description = current.Description, Enabled = enabled },
                current.Id,
                $"\"{current.Version}\"",
                cancellationToken);
            run.Output.Result($"{changed.Id} is {(changed.Enabled ? "enabled" : "disabled")}");
            return ExitCodes.Ok;
        });
    }
}

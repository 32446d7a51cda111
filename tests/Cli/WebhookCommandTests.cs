using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Webhooks;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Cli;

/// <summary>A SOAR tool's webhook set up, inspected and operated with platformctl, against a receiver on loopback.</summary>
public sealed class WebhookCommandTests(SqliteApiWithReceivers api) : IClassFixture<SqliteApiWithReceivers>
{
    [Fact]
    public async Task A_webhook_is_created_with_its_secret_on_stdout_its_deliveries_listed_redelivered_disabled_enabled_and_deleted()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        await using var receiver = await WebhookReceiver.StartAsync();

        var created = await cli.RunAsync("webhooks", "create", "--url", receiver.Url(), "--event", "incident.created", "--description", "soar");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.StartsWith("whsec_", created.Out.Trim());
        var webhook = Assert.Single((await api.Admin().ListWebhooksAsync()).Items, w => w.Url == receiver.Url());
        Assert.Equal([WebhookEventType.Incident_created], webhook.Events);

        var scenario = await StartAsync(api);
        await scenario.PushAsync(scenario.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        var incident = Assert.Single(await scenario.IncidentsAsync());
        await api.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(CancellationToken.None);

        var deliveries = await cli.RunAsync("-o", "json", "webhooks", "deliveries", webhook.Id);
        Assert.True(deliveries.ExitCode == 0, deliveries.ToString());
        var delivery = CliPages.Items(deliveries)
            .Single(d => d.GetProperty("incidentId").GetString() == incident.Id);
        Assert.Equal("delivered", delivery.GetProperty("status").GetString());

        var redelivered = await cli.RunAsync("webhooks", "redeliver", webhook.Id, delivery.GetProperty("id").GetString()!);
        Assert.True(redelivered.ExitCode == 0, redelivered.ToString());
        Assert.Contains($"incident.created of {incident.Id}", redelivered.Out);

        var disabled = await cli.RunAsync("webhooks", "disable", webhook.Id);
        Assert.True(disabled.ExitCode == 0, disabled.ToString());
        Assert.False((await api.Admin().GetWebhookAsync(webhook.Id)).Enabled);
        var list = await cli.RunAsync("webhooks", "list");
        Assert.Contains("no:", list.Out);
        var enabled = await cli.RunAsync("webhooks", "enable", webhook.Id);
        Assert.True(enabled.ExitCode == 0, enabled.ToString());
        var now = await api.Admin().GetWebhookAsync(webhook.Id);
        Assert.True(now.Enabled);
        Assert.Equal("soar", now.Description); // the rest of the subscription kept

        // A new secret on standard output, the old one valid for the overlap asked for; list shows both.
        var rotated = await cli.RunAsync("webhooks", "rotate-secret", webhook.Id, "--overlap", "00:01:00");
        Assert.True(rotated.ExitCode == 0, rotated.ToString());
        Assert.True(StandardWebhookSignature.IsSecret(rotated.Out.Trim()), rotated.Out);
        Assert.NotEqual(created.Out.Trim(), rotated.Out.Trim());
        Assert.Equal(api.Time.GetUtcNow().AddMinutes(1), (await api.Admin().GetWebhookAsync(webhook.Id)).PreviousSecretExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Contains("standard-webhooks, old secret until", (await cli.RunAsync("webhooks", "list")).Out);
        var legacy = await cli.RunAsync("webhooks", "create", "--url", receiver.Url(), "--scheme", "platform-v1");
        Assert.True(legacy.ExitCode == 0, legacy.ToString());
        var legacyWebhook = Assert.Single((await api.Admin().ListWebhooksAsync()).Items, w => w.SignatureScheme == WebhookSignatureScheme.PlatformV1);
        Assert.Equal(0, (await cli.RunAsync("webhooks", "delete", legacyWebhook.Id)).ExitCode);

        var refused = await cli.RunAsync("webhooks", "create", "--url", "http://169.254.169.254/latest/meta-data/");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.Contains("error: HTTP 400", refused.Error);

        Assert.Equal(0, (await cli.RunAsync("webhooks", "delete", webhook.Id)).ExitCode);
        Assert.DoesNotContain((await api.Admin().ListWebhooksAsync()).Items, w => w.Id == webhook.Id);
    }
}

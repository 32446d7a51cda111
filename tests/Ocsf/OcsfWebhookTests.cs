using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Webhooks;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Ocsf;

/// <summary>
/// A subscription that chose the OCSF payload gets each incident change as a valid Incident Finding, signed as any
/// delivery is, beside a subscription to the platform's own payload for the same change; on both stores (the findings
/// are read inside the write that records them).
/// </summary>
public abstract class OcsfWebhookTests(PlatformApi api)
{
    private Task SendAsync() => api.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(CancellationToken.None);

    private static JsonElement Body(WebhookReceiver.Received received) => JsonDocument.Parse(received.Body).RootElement;

    [SkippableFact]
    public async Task An_ocsf_subscription_gets_each_change_as_a_valid_signed_incident_finding()
    {
        await using var ocsfReceiver = await WebhookReceiver.StartAsync();
        await using var platformReceiver = await WebhookReceiver.StartAsync();
        var admin = api.Admin();
        WebhookEventType[] both = [WebhookEventType.Incident_created, WebhookEventType.Incident_updated];
        var ocsf = await admin.CreateWebhookAsync(new WebhookSpec { Url = ocsfReceiver.Url(), Events = both, PayloadFormat = WebhookPayloadFormat.Ocsf });
        var platform = await admin.CreateWebhookAsync(new WebhookSpec { Url = platformReceiver.Url(), Events = both });
        Assert.Equal((WebhookPayloadFormat.Ocsf, WebhookPayloadFormat.Platform), (ocsf.Webhook.PayloadFormat, platform.Webhook.PayloadFormat));

        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        var incident = Assert.Single(await s.IncidentsAsync());
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, incident.Id);
        await admin.ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Resolved, Resolution = IncidentResolution.TruePositive, Reason = "contained" }, incident.Id);
        await SendAsync();

        var deliveries = ocsfReceiver.Requests.Where(r => Body(r).GetProperty("metadata").GetProperty("uid").GetString() == incident.Id).ToList();
        Assert.Equal(3, deliveries.Count);
        foreach (var delivery in deliveries)
        {
            var problems = OcsfSchema.Instance.Validate(Body(delivery));
            Assert.True(problems.Count == 0, string.Join("; ", problems));
            Assert.Null(ReceiverChecks.DotnetRefusal(delivery, ocsf.Secret));
        }
        // Deliveries that are due together are sent together: they may arrive in any order (docs/soar.md), each says what it is.
        var byActivity = deliveries.Select(Body).OrderBy(b => b.GetProperty("activity_id").GetInt32()).ToList();
        var activities = byActivity.Select(b => (b.GetProperty("activity_name").GetString(), b.GetProperty("status").GetString())).ToList();
        Assert.Equal([("Create", "New"), ("Update", "In Progress"), ("Close", "Resolved")], activities);
        var created = byActivity[0];
        var finding = Assert.Single((await admin.ListIncidentFindingsAsync(incident.Id)).Items);
        Assert.Equal([finding.Id], created.GetProperty("finding_info_list").EnumerateArray().Select(f => f.GetProperty("uid").GetString()));
        Assert.Equal(("True Positive", "contained"), (byActivity[2].GetProperty("verdict").GetString(), byActivity[2].GetProperty("comment").GetString()));

        // The same changes, in the platform's payload, to the other subscription.
        Assert.Equal(3, platformReceiver.Requests.Count(r => JsonSerializer.Deserialize<WebhookEvent>(r.Body, Platform.Api.Telemetry.Segments.Json)!.Incident.Id == incident.Id));

        // A replace that does not name the format keeps it; one that does changes it.
        var kept = await admin.ReplaceWebhookAsync(new WebhookSpec { Url = ocsfReceiver.Url(), Events = both }, ocsf.Webhook.Id);
        Assert.Equal(WebhookPayloadFormat.Ocsf, kept.PayloadFormat);
        var changed = await admin.ReplaceWebhookAsync(new WebhookSpec { Url = ocsfReceiver.Url(), Events = both, PayloadFormat = WebhookPayloadFormat.Platform }, ocsf.Webhook.Id);
        Assert.Equal(WebhookPayloadFormat.Platform, changed.PayloadFormat);
        await admin.DeleteWebhookAsync(ocsf.Webhook.Id);
        await admin.DeleteWebhookAsync(platform.Webhook.Id);
    }
}

public sealed class OcsfWebhookTestsOnSqlite(SqliteApiWithReceivers api) : OcsfWebhookTests(api), IClassFixture<SqliteApiWithReceivers>;

public sealed class OcsfWebhookTestsOnPostgres(PostgresApiWithReceivers api) : OcsfWebhookTests(api), IClassFixture<PostgresApiWithReceivers>;

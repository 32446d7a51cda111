using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Webhooks;

/// <summary>The api with loopback receivers allowed (as a deployment would allow its own network) and a low disable threshold.</summary>
public class SqliteApiWithReceivers : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Webhooks:AllowedNetworks:0"] = "127.0.0.0/8",
        ["Platform:Webhooks:DisableAfterFailures"] = "3",
    };
}

public class PostgresApiWithReceivers : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Webhooks:AllowedNetworks:0"] = "127.0.0.0/8",
        ["Platform:Webhooks:DisableAfterFailures"] = "3",
    };
}

public abstract class WebhookTests(PlatformApi api)
{
    private Task SendAsync() => api.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(CancellationToken.None);

    private async Task<Incident> NewIncidentAsync()
    {
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        return Assert.Single(await s.IncidentsAsync());
    }

    private static WebhookEvent Event(WebhookReceiver.Received received) => JsonSerializer.Deserialize<WebhookEvent>(received.Body, Platform.Api.Telemetry.Segments.Json)!;

    [SkippableFact]
    public async Task A_platform_v1_subscription_signs_the_old_way_and_the_signature_resists_tampering_and_replay()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var created = await api.Admin().CreateWebhookAsync(new WebhookSpec
        {
            Url = receiver.Url(), Events = [WebhookEventType.Incident_created, WebhookEventType.Incident_updated], SignatureScheme = WebhookSignatureScheme.PlatformV1,
        });
        Assert.StartsWith("whsec_", created.Secret);
        Assert.Equal(WebhookSignatureScheme.PlatformV1, (await api.Admin().GetWebhookAsync(created.Webhook.Id)).SignatureScheme);

        var incident = await NewIncidentAsync();
        await SendAsync();
        var received = Assert.Single(receiver.Requests, r => Event(r).Incident.Id == incident.Id);
        var e = Event(received);
        Assert.Equal((WebhookEventType.Incident_created, IncidentCategory.ShellFromServer), (e.Type, e.Incident.Category));
        var (timestamp, signature) = (received.Headers[WebhookSignature.TimestampHeader], received.Headers[WebhookSignature.SignatureHeader]);
        var now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp));
        Assert.True(WebhookSignature.Verify(created.Secret, timestamp, signature, received.Body, now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify("whsec_another-secret-of-enough-length-000", timestamp, signature, received.Body, now, TimeSpan.FromMinutes(5)));
        var tampered = received.Body.ToArray();
        tampered[^2] ^= 1;
        Assert.False(WebhookSignature.Verify(created.Secret, timestamp, signature, tampered, now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(created.Secret, timestamp, signature, received.Body, now.AddMinutes(6), TimeSpan.FromMinutes(5))); // replayed later
        Assert.StartsWith("whd_", received.Headers[WebhookSignature.IdHeader]);
        Assert.DoesNotContain(StandardWebhookSignature.SignatureHeader, received.Headers.Keys);

        await api.Admin().ChangeIncidentStatusAsync(new IncidentStatusChange { Status = IncidentStatus.Acknowledged }, incident.Id);
        await SendAsync();
        var updates = receiver.Requests.Select(Event).Where(x => x.Incident.Id == incident.Id).ToList();
        Assert.Equal([WebhookEventType.Incident_created, WebhookEventType.Incident_updated], updates.Select(u => u.Type));
        Assert.Equal(IncidentStatus.Acknowledged, updates[1].Incident.Status);
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);
    }

    [SkippableFact]
    public async Task A_failed_delivery_is_retried_with_backoff_logged_redelivered_and_repeated_failures_disable_the_subscription()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var admin = api.Admin();
        var created = await admin.CreateWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created] });
        receiver.Answers.Enqueue(503);
        var incident = await NewIncidentAsync();
        await SendAsync();

        var delivery = Assert.Single((await admin.ListWebhookDeliveriesAsync(created.Webhook.Id)).Items);
        Assert.Equal((WebhookDeliveryStatus.Pending, 1, 503, incident.Id), (delivery.Status, delivery.Attempts, delivery.LastStatusCode, delivery.IncidentId));
        Assert.Equal(api.Time.GetUtcNow().AddSeconds(10), delivery.NextAttemptAt!.Value, TimeSpan.FromMilliseconds(1)); // PostgreSQL keeps microseconds
        await SendAsync(); // not due yet
        Assert.Single(receiver.Requests);

        api.Time.Advance(TimeSpan.FromSeconds(10));
        await SendAsync();
        delivery = Assert.Single((await admin.ListWebhookDeliveriesAsync(created.Webhook.Id)).Items);
        Assert.Equal((WebhookDeliveryStatus.Delivered, 2, 200), (delivery.Status, delivery.Attempts, delivery.LastStatusCode));
        Assert.Equal(2, receiver.Requests.Count);
        Assert.Single(receiver.Requests.Select(r => r.Headers[StandardWebhookSignature.IdHeader]).Distinct()); // a retry keeps its id

        var again = await admin.RedeliverWebhookDeliveryAsync(created.Webhook.Id, delivery.Id);
        Assert.Equal((delivery.EventId, delivery.Id), (again.EventId, again.RedeliveryOf));
        await SendAsync();
        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal(delivery.EventId, Event(receiver.Requests.Last()).Id);

        // Three failed attempts in a row disable it; nothing is sent while disabled; enabling it sends what waited.
        for (var i = 0; i < 3; i++)
            receiver.Answers.Enqueue(500);
        await NewIncidentAsync();
        for (var i = 0; i < 3; i++)
        {
            await SendAsync();
            api.Time.Advance(TimeSpan.FromMinutes(2));
        }

        var disabled = await admin.GetWebhookAsync(created.Webhook.Id);
        Assert.False(disabled.Enabled);
        Assert.Contains("3 attempts in a row failed", disabled.DisabledReason);
        var sent = receiver.Requests.Count;
        await SendAsync();
        Assert.Equal(sent, receiver.Requests.Count);

        var enabled = await admin.ReplaceWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created], Enabled = true }, created.Webhook.Id);
        Assert.Equal((true, 0, (string?)null), (enabled.Enabled, enabled.ConsecutiveFailures, enabled.DisabledReason));
        api.Time.Advance(TimeSpan.FromMinutes(10));
        await SendAsync();
        Assert.Equal(sent + 1, receiver.Requests.Count);
        await admin.DeleteWebhookAsync(created.Webhook.Id);
    }

    [SkippableFact]
    public async Task A_redirect_is_not_followed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var target = await WebhookReceiver.StartAsync();
        receiver.RedirectTo = target.Url();
        receiver.Answers.Enqueue(302);
        var created = await api.Admin().CreateWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created] });
        await NewIncidentAsync();
        await SendAsync();

        var delivery = Assert.Single((await api.Admin().ListWebhookDeliveriesAsync(created.Webhook.Id)).Items);
        Assert.Equal((302, WebhookDeliveryStatus.Pending), (delivery.LastStatusCode, delivery.Status));
        Assert.Contains("redirects are not followed", delivery.LastError);
        Assert.Empty(target.Requests);
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);
    }
}

public sealed class WebhookTestsOnSqlite(SqliteApiWithReceivers api) : WebhookTests(api), IClassFixture<SqliteApiWithReceivers>;

public sealed class WebhookTestsOnPostgres(PostgresApiWithReceivers api) : WebhookTests(api), IClassFixture<PostgresApiWithReceivers>;

/// <summary>Without an allow-list: internal addresses, however written, are refused when saved and when resolved.</summary>
public abstract class WebhookAddressTests(PlatformApi api)
{
    [SkippableTheory]
    [InlineData("http://127.0.0.1/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.1/hook")]
    [InlineData("http://2130706433/hook")]
    [InlineData("http://0x7f000001/hook")]
    [InlineData("http://0177.0.0.1/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://[::ffff:a9fe:a9fe]/hook")]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://192.168.1.10/hook")]
    [InlineData("http://[fd00:ec2::254]/hook")]
    [InlineData("http://[64:ff9b:1::a9fe:a9fe]/hook")]
    [InlineData("http://[64:ff9b::a9fe:a9fe]/hook")]
    [InlineData("http://[2002:a9fe:a9fe::]/hook")]
    [InlineData("http://[::127.0.0.1]/hook")]
    [InlineData("http://[::ffff:0:a9fe:a9fe]/hook")]
    [InlineData("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook")]
    [InlineData("http://localhost./hook")]
    [InlineData("http://metadata.google.internal./hook")]
    [InlineData("http://\uFF11\uFF12\uFF17.0.0.1/hook")]
    [InlineData("http://\u0661\u0662\u0667.0.0.1/hook")]
    [InlineData("ftp://example.com/hook")]
    [InlineData("https://user:pass@example.com/hook")]
    public async Task Internal_addresses_are_refused(string url)
    {
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateWebhookAsync(new WebhookSpec { Url = url, Events = [WebhookEventType.Incident_created] }));
        Assert.Contains("url", errors.Keys);
    }

    [SkippableFact]
    public async Task A_public_address_is_accepted_and_a_name_is_checked_when_it_resolves()
    {
        var created = await api.Admin().CreateWebhookAsync(new WebhookSpec { Url = "https://198.51.100.7/hook", Events = [WebhookEventType.Incident_created], Enabled = false });
        Assert.False(created.Webhook.Enabled);
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);

        // A name that resolves to this machine is refused at connection time (DNS can change after the URL was saved).
        var addresses = new OutboundAddresses(new WebhookOptions());
        var refused = await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await addresses.ConnectAsync(new DnsEndPoint("localhost", 80), CancellationToken.None));
        Assert.Contains("internal address", refused.Message);
        Assert.Null(addresses.Refusal(IPAddress.Parse("198.51.100.7")));
        Assert.NotNull(addresses.Refusal(IPAddress.Parse("::ffff:10.1.2.3")));
    }

    [SkippableTheory]
    [InlineData("64:ff9b:1::a9fe:a9fe")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:a9fe:a9fe::")]
    [InlineData("2002:7f00:1::1")]
    [InlineData("::127.0.0.1")]
    [InlineData("::ffff:0:a9fe:a9fe")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    public async Task IPv6_forms_embedding_an_internal_IPv4_are_refused_when_connecting(string literal)
    {
        // As a name resolving to it would be: the connection is refused before a socket is opened.
        var addresses = new OutboundAddresses(new WebhookOptions());
        var refused = await Assert.ThrowsAsync<HttpRequestException>(async () =>
            await addresses.ConnectAsync(new DnsEndPoint($"[{literal}]", 80), CancellationToken.None));
        Assert.StartsWith(OutboundAddresses.RefusedPrefix, refused.Message);
    }

    [SkippableFact]
    public void IPv6_forms_embedding_a_public_IPv4_are_judged_by_it()
    {
        var addresses = new OutboundAddresses(new WebhookOptions());
        Assert.Null(addresses.Refusal(IPAddress.Parse("64:ff9b::c633:6407")));   // 198.51.100.7 through NAT64
        Assert.Null(addresses.Refusal(IPAddress.Parse("2002:c633:6407::1")));     // 198.51.100.7 through 6to4
        Assert.Equal(IPAddress.Parse("169.254.169.254"), OutboundAddresses.EmbeddedIPv4(IPAddress.Parse("::ffff:0:a9fe:a9fe")));
        Assert.Null(OutboundAddresses.EmbeddedIPv4(IPAddress.Parse("::1")));
    }
}

public sealed class WebhookAddressTestsOnSqlite(SqliteApi api) : WebhookAddressTests(api), IClassFixture<SqliteApi>;

public sealed class WebhookAddressTestsOnPostgres(PostgresApi api) : WebhookAddressTests(api), IClassFixture<PostgresApi>;

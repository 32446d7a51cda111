using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;
using static Platform.Tests.Webhooks.ReceiverChecks;

namespace Platform.Tests.Webhooks;

/// <summary>
/// Standard Webhooks 1.0 signatures and secret rotation, checked as receivers check them: by the reference libraries,
/// which use their own clock. So this class has its api to itself, keeps the api's clock on the real one before each
/// delivery, and moves it on by seconds only.
/// </summary>
public abstract class StandardWebhooksTests(PlatformApi api)
{
    private async Task<WebhookReceiver.Received> DeliverAsync(WebhookReceiver receiver)
    {
        if (DateTimeOffset.UtcNow > api.Time.GetUtcNow())
            api.Time.SetUtcNow(DateTimeOffset.UtcNow);
        var s = await StartAsync(api);
        await s.PushAsync(s.Start(T0, 4230, 4101, "sh", "java", ["sh"], Web, "/bin/sh"));
        var incident = Assert.Single(await s.IncidentsAsync());
        await api.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(CancellationToken.None);
        return Assert.Single(receiver.Requests, r => JsonSerializer.Deserialize<WebhookEvent>(r.Body, Platform.Api.Telemetry.Segments.Json)!.Incident.Id == incident.Id);
    }

    private Task<WebhookCreated> CreateAsync(WebhookReceiver receiver, WebhookSignatureScheme? scheme = null, string? secret = null) =>
        api.Admin().CreateWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created], SignatureScheme = scheme, Secret = secret });

    private static int Signatures(WebhookReceiver.Received delivery, string header) => delivery.Headers[header].Split(' ').Length;

    [SkippableFact]
    public async Task A_new_subscription_signs_with_Standard_Webhooks_which_both_reference_libraries_verify()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var created = await CreateAsync(receiver);
        Assert.Equal(WebhookSignatureScheme.StandardWebhooks, created.Webhook.SignatureScheme);
        Assert.Null(created.Webhook.PreviousSecretExpiresAt);
        Assert.StartsWith("whsec_", created.Secret);
        Assert.Equal(32, Convert.FromBase64String(created.Secret["whsec_".Length..]).Length);

        var delivery = await DeliverAsync(receiver);
        Assert.StartsWith("whd_", delivery.Headers["webhook-id"]);
        Assert.Matches("^v1,[A-Za-z0-9+/]{43}=$", delivery.Headers["webhook-signature"]);
        Assert.DoesNotContain(WebhookSignature.SignatureHeader, delivery.Headers.Keys);
        Assert.Null(DotnetRefusal(delivery, created.Secret));
        Assert.Null(await NodeRefusalAsync(delivery, created.Secret));

        // Refused: another secret, a changed body, and a captured delivery replayed later, as it is or re-stamped.
        var other = StandardWebhookSignature.NewSecret();
        Assert.NotNull(DotnetRefusal(delivery, other));
        Assert.Equal("No matching signature found", await NodeRefusalAsync(delivery, other));
        Assert.NotNull(DotnetRefusal(delivery.Tampered(), created.Secret));
        Assert.Equal("No matching signature found", await NodeRefusalAsync(delivery.Tampered(), created.Secret));
        // Six minutes after it was signed, by the delivery's own timestamp: the api's clock may be ahead of the machine's
        // by the seconds other tests of this class moved it on, so "the machine's now + 6 min" could be within tolerance.
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(delivery.Headers["webhook-timestamp"], CultureInfo.InvariantCulture));
        Assert.Equal("Message timestamp too old", await NodeRefusalAsync(delivery, created.Secret, signedAt.AddMinutes(6)));
        var restamped = delivery.WithHeader("webhook-timestamp", (long.Parse(delivery.Headers["webhook-timestamp"]) + 1).ToString());
        Assert.NotNull(DotnetRefusal(restamped, created.Secret));
        Assert.Equal("No matching signature found", await NodeRefusalAsync(restamped, created.Secret));
        var old = delivery.WithHeader("webhook-timestamp", DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds().ToString());
        Assert.NotNull(DotnetRefusal(old, created.Secret));
        Assert.Equal("Message timestamp too old", await NodeRefusalAsync(old, created.Secret));

        Assert.Equal(WebhookSignatureScheme.StandardWebhooks, (await api.Admin().GetWebhookAsync(created.Webhook.Id)).SignatureScheme);
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);
    }

    [SkippableFact]
    public async Task A_rotated_secret_signs_beside_the_new_one_during_the_overlap_and_is_forgotten_after_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var admin = api.Admin();
        var created = await CreateAsync(receiver);
        var rotated = await admin.RotateWebhookSecretAsync(new WebhookSecretRotation { OverlapSeconds = 60 }, created.Webhook.Id);
        Assert.NotEqual(created.Secret, rotated.Secret);
        Assert.True(StandardWebhookSignature.IsSecret(rotated.Secret), rotated.Secret);
        Assert.Equal(api.Time.GetUtcNow().AddSeconds(60), rotated.Webhook.PreviousSecretExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(created.Webhook.Version + 1, rotated.Webhook.Version);

        var during = await DeliverAsync(receiver);
        Assert.Equal(2, Signatures(during, "webhook-signature"));
        foreach (var secret in new[] { rotated.Secret, created.Secret })
        {
            Assert.Null(DotnetRefusal(during, secret));
            Assert.Null(await NodeRefusalAsync(during, secret));
        }
        // The new secret's signature comes first: the one StandardWebhooks 1.1.2 reads. When this fails, the package
        // checks every signature: drop the note in docs/soar.md and the split in ReceiverChecks.DotnetRefusal.
        Assert.Null(DotnetRefusal(during, rotated.Secret, wholeHeader: true));
        Assert.Equal("No matching signature found", DotnetRefusal(during, created.Secret, wholeHeader: true));

        api.Time.Advance(TimeSpan.FromSeconds(61));
        var after = await DeliverAsync(receiver);
        Assert.Equal(1, Signatures(after, "webhook-signature"));
        Assert.Null(DotnetRefusal(after, rotated.Secret));
        Assert.Null(await NodeRefusalAsync(after, rotated.Secret));
        Assert.NotNull(DotnetRefusal(after, created.Secret));
        Assert.Equal("No matching signature found", await NodeRefusalAsync(after, created.Secret));
        Assert.Null((await admin.GetWebhookAsync(created.Webhook.Id)).PreviousSecretExpiresAt);
        var stored = await api.Services.GetRequiredService<WebhookStore>().FindAsync(created.Webhook.Id, CancellationToken.None);
        Assert.Equal((rotated.Secret, (string?)null, (DateTimeOffset?)null), (stored!.Secret, stored.PreviousSecret, stored.PreviousSecretExpiresAt));

        // The overlap defaults to (and is at most) 24 hours; 0 drops the old secret at once. Rotations are audited, without secrets.
        var byDefault = await admin.RotateWebhookSecretAsync(new WebhookSecretRotation(), created.Webhook.Id);
        Assert.Equal(api.Time.GetUtcNow().AddHours(24), byDefault.Webhook.PreviousSecretExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
        var errors = await ProblemAssert.FieldErrors(() => admin.RotateWebhookSecretAsync(new WebhookSecretRotation { OverlapSeconds = 86401 }, created.Webhook.Id));
        Assert.Contains("overlapSeconds", errors.Keys);
        var atOnce = await admin.RotateWebhookSecretAsync(new WebhookSecretRotation { OverlapSeconds = 0 }, created.Webhook.Id);
        Assert.Null(atOnce.Webhook.PreviousSecretExpiresAt);
        var alone = await DeliverAsync(receiver);
        Assert.Equal(1, Signatures(alone, "webhook-signature"));
        Assert.Null(DotnetRefusal(alone, atOnce.Secret));
        Assert.NotNull(DotnetRefusal(alone, byDefault.Secret));

        var audit = await admin.ListAuditEntriesAsync(limit: 50, targetType: "webhook", targetId: created.Webhook.Id);
        Assert.Equal(3, audit.Items.Count(a => a.Action == "webhook.rotate-secret"));
        var json = JsonSerializer.Serialize(audit);
        Assert.All(new[] { created.Secret, rotated.Secret, byDefault.Secret, atOnce.Secret }, s => Assert.DoesNotContain(s["whsec_".Length..], json));
        await admin.DeleteWebhookAsync(created.Webhook.Id);
    }

    [SkippableFact]
    public async Task A_platform_v1_subscription_rotates_too_and_carries_both_of_its_signatures_during_the_overlap()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var created = await CreateAsync(receiver, WebhookSignatureScheme.PlatformV1);
        var rotated = await api.Admin().RotateWebhookSecretAsync(new WebhookSecretRotation { OverlapSeconds = 30 }, created.Webhook.Id);
        Assert.Equal(WebhookSignatureScheme.PlatformV1, rotated.Webhook.SignatureScheme);

        var delivery = await DeliverAsync(receiver);
        Assert.DoesNotContain("webhook-signature", delivery.Headers.Keys);
        Assert.Matches("^v1=[0-9a-f]{64} v1=[0-9a-f]{64}$", delivery.Headers[WebhookSignature.SignatureHeader]);
        var (timestamp, signature) = (delivery.Headers[WebhookSignature.TimestampHeader], delivery.Headers[WebhookSignature.SignatureHeader]);
        var now = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp));
        Assert.True(WebhookSignature.Verify(created.Secret, timestamp, signature, delivery.Body, now, TimeSpan.FromMinutes(5)));
        Assert.True(WebhookSignature.Verify(rotated.Secret, timestamp, signature, delivery.Body, now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(WebhookSignature.NewSecret(), timestamp, signature, delivery.Body, now, TimeSpan.FromMinutes(5)));
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);
    }

    [SkippableTheory]
    [InlineData("a-secret-of-forty-characters-0123456789")] // no whsec_
    [InlineData("whsec_AAECAwQFBgcICQoLDA0ODw==")] // 16 bytes: too short a key
    [InlineData("whsec_-_-_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX")] // base64url, not base64
    [InlineData("whsec_AAECAwQFBgcICQoLDA0O DxAREhMUFRYX")] // whitespace inside
    public async Task A_client_secret_that_is_not_whsec_and_base64_of_24_to_64_bytes_is_refused_for_standard_webhooks(string secret)
    {
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().CreateWebhookAsync(
            new WebhookSpec { Url = "https://198.51.100.7/hook", Events = [WebhookEventType.Incident_created], Secret = secret, Enabled = false }));
        Assert.Contains("secret", errors.Keys);
    }

    [SkippableFact]
    public async Task A_client_secret_that_fits_is_used_and_the_scheme_cannot_change_later()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(0, 24).Select(i => (byte)(i * 7)).ToArray());
        var created = await CreateAsync(receiver, secret: secret);
        Assert.Equal(secret, created.Secret);
        var delivery = await DeliverAsync(receiver);
        Assert.Null(DotnetRefusal(delivery, secret));
        Assert.Null(await NodeRefusalAsync(delivery, secret));

        // platform-v1 keeps its own rule (any 32 characters), and a subscription keeps the scheme it was created with.
        var legacy = await CreateAsync(receiver, WebhookSignatureScheme.PlatformV1, "a-secret-of-forty-characters-0123456789");
        var errors = await ProblemAssert.FieldErrors(() => api.Admin().ReplaceWebhookAsync(
            new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created], SignatureScheme = WebhookSignatureScheme.StandardWebhooks }, legacy.Webhook.Id));
        Assert.Contains("signatureScheme", errors.Keys);
        var kept = await api.Admin().ReplaceWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created], Description = "kept" }, legacy.Webhook.Id);
        Assert.Equal((WebhookSignatureScheme.PlatformV1, "kept"), (kept.SignatureScheme, kept.Description));
        errors = await ProblemAssert.FieldErrors(() => api.Admin().ReplaceWebhookAsync(
            new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created], Secret = "a-secret-of-forty-characters-0123456789" }, created.Webhook.Id));
        Assert.Contains("secret", errors.Keys);
        await api.Admin().DeleteWebhookAsync(created.Webhook.Id);
        await api.Admin().DeleteWebhookAsync(legacy.Webhook.Id);
    }

    [SkippableFact]
    public async Task Rotation_is_refused_for_an_unknown_webhook_a_stale_version_and_roles_that_do_not_manage_webhooks()
    {
        var admin = api.Admin();
        var created = await admin.CreateWebhookAsync(new WebhookSpec { Url = "https://198.51.100.7/hook", Events = [WebhookEventType.Incident_created], Enabled = false });

        var missing = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.RotateWebhookSecretAsync(new WebhookSecretRotation(), "whk_" + new string('0', 32)));
        Assert.Equal(404, missing.StatusCode);
        var stale = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => admin.RotateWebhookSecretAsync(new WebhookSecretRotation(), created.Webhook.Id, "\"99\""));
        Assert.Equal(412, stale.StatusCode);
        foreach (var role in new[] { Role.Analyst, Role.Responder })
        {
            var (client, _) = await api.ClientWithRole(role);
            var refused = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(() => client.RotateWebhookSecretAsync(new WebhookSecretRotation(), created.Webhook.Id));
            Assert.Equal(403, refused.StatusCode);
        }

        var (operatorClient, _) = await api.ClientWithRole(Role.Operator);
        var rotated = await operatorClient.RotateWebhookSecretAsync(new WebhookSecretRotation { OverlapSeconds = 10 }, created.Webhook.Id, $"\"{created.Webhook.Version}\"");
        Assert.Equal(created.Webhook.Version + 1, rotated.Webhook.Version);
        Assert.Equal(created.Webhook.Version + 1, (await admin.GetWebhookAsync(created.Webhook.Id)).Version);
        await admin.DeleteWebhookAsync(created.Webhook.Id);
    }
}

// A class fixture is the class's own: these tests move no other class's clock, and no other class moves theirs.
public sealed class StandardWebhooksTestsOnSqlite(SqliteApiWithReceivers api) : StandardWebhooksTests(api), IClassFixture<SqliteApiWithReceivers>;

public sealed class StandardWebhooksTestsOnPostgres(PostgresApiWithReceivers api) : StandardWebhooksTests(api), IClassFixture<PostgresApiWithReceivers>;

using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Platform.Api.Incidents;
using Platform.Api.Webhooks;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Webhooks;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Incidents;

/// <summary>An API instance on a PostgreSQL database another instance uses too.</summary>
public sealed class SharedPostgresApi(string connectionString, string adminSecret) : PostgresApi
{
    public override string AdminSecret => adminSecret;

    public string ConnectionString => connectionString;

    protected override IDictionary<string, string?> StorageSettings() => new Dictionary<string, string?>
    {
        ["Platform:Storage:Provider"] = "Postgres",
        ["Platform:Storage:ConnectionString"] = connectionString,
    };

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:Webhooks:AllowedNetworks:0"] = "127.0.0.0/8" };
}

/// <summary>Two API instances behind one load balancer, on one PostgreSQL: each incident and each webhook delivery happens once.</summary>
public sealed class ScaleOutTests
{
    [SkippableFact]
    public async Task Two_instances_on_one_database_make_each_incident_once_and_send_each_event_once()
    {
        if (PostgresCluster.Problem is { } problem)
        {
            if (PostgresCluster.InCi)
                throw new InvalidOperationException("CI is set but PostgreSQL could not start: " + problem);
            Skip.If(true, "PostgreSQL is not available here: " + problem);
        }

        var connectionString = PostgresCluster.CreateDatabase();
        var secret = "plt_test-admin-" + Guid.NewGuid().ToString("N");
        await using var a = new SharedPostgresApi(connectionString, secret);
        await using var b = new SharedPostgresApi(connectionString, secret);
        _ = a.Admin();
        _ = b.Admin();
        await using var receiver = await WebhookReceiver.StartAsync();
        await a.Admin().CreateWebhookAsync(new WebhookSpec { Url = receiver.Url(), Events = [WebhookEventType.Incident_created, WebhookEventType.Incident_updated] });
        var rule = await b.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("app-config")));

        // The agent's batches go to either instance, as a load balancer sends them.
        var (viaA, enrolled) = await a.EnrolledAgent("web-scale", new Dictionary<string, string> { ["role"] = "app" });
        var viaB = b.Client(enrolled.Secret);
        var agentId = enrolled.Agent.Id;
        var s = new IncidentScenario(a, viaA, agentId);
        var steps = s.Struts2Compromise(T0);
        await viaA.PushTelemetryAsync(new TelemetryBatch { Id = "b-1", Sequence = 1, Events = steps[..3] }, agentId);
        await viaB.PushTelemetryAsync(new TelemetryBatch { Id = "b-2", Sequence = 2, Events = steps[3..] }, agentId);
        await viaB.PushTelemetryAsync(new TelemetryBatch { Id = "b-3", Sequence = 3, Events = [s.Start(T0.AddSeconds(5), 4240, 4101, "bash", "java", ["bash"], Web, "/bin/bash")] }, agentId);
        // A FIM write sent to both at once (a retry that went to the other instance).
        var write = new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = "w-1", Time = T0, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = FimOperation.Write, Effect = FimAlertEffect.Alerted,
                    Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 5121, Name = "vi", Executable = "/usr/bin/vi" },
                },
            ],
        };
        await Task.WhenAll(viaA.PushFimAlertsAsync(write, agentId), viaB.PushFimAlertsAsync(write, agentId));

        // Both detect and both send, at once, until nothing is left (their background loops run meanwhile too).
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var db = new NpgsqlConnection(connectionString))
        {
            while (await db.ExecuteScalarAsync<int>("select count(*) from detection_queue") > 0)
            {
                await Task.WhenAll(a.Services.GetRequiredService<IncidentDetector>().DrainAsync(patience.Token), b.Services.GetRequiredService<IncidentDetector>().DrainAsync(patience.Token));
                await Task.Delay(20, patience.Token);
            }

            while (await db.ExecuteScalarAsync<int>("select count(*) from webhook_delivery where status = 'pending'") > 0)
            {
                await Task.WhenAll(a.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(patience.Token), b.Services.GetRequiredService<WebhookDispatcher>().DrainAsync(patience.Token));
                await Task.Delay(20, patience.Token);
            }
        }

        var incidents = (await b.Admin().ListIncidentsAsync(agentId: agentId)).Items;
        Assert.Equal(
            new[] { IncidentCategory.DataExfiltration, IncidentCategory.ShellFromServer, IncidentCategory.FimTamper },
            incidents.Select(i => i.Category).Order());
        Assert.Equal(2, incidents.Single(i => i.Category == IncidentCategory.ShellFromServer).FindingCount); // sh and bash, each once

        var received = receiver.Requests.Select(r => (Id: r.Headers[StandardWebhookSignature.IdHeader], Event: System.Text.Json.JsonSerializer.Deserialize<WebhookEvent>(r.Body, Platform.Api.Telemetry.Segments.Json)!)).ToList();
        Assert.Equal(received.Count, received.Select(r => r.Id).Distinct().Count()); // no delivery twice
        Assert.All(incidents, incident => Assert.Single(received, r => r.Event.Incident.Id == incident.Id && r.Event.Type == WebhookEventType.Incident_created));
        var deliveries = received.Count;
        await using (var db = new NpgsqlConnection(connectionString))
            Assert.Equal(deliveries, await db.ExecuteScalarAsync<int>("select count(*) from webhook_delivery where status = 'delivered'"));
    }
}

using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>
/// A FIM alert and the finding it makes are one write: when the finding cannot be written, the alert is not stored
/// either, so the agent's retry stores both (an alert committed without its finding would be a change no incident
/// ever shows). The finding's write is made to fail by a trigger on <c>incident_finding</c>, in this class's own database.
/// </summary>
public abstract class FimAlertFindingTests(PlatformApi api)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [SkippableFact]
    public async Task An_alert_whose_finding_cannot_be_written_is_not_stored_and_its_retry_stores_both()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("app-config")));
        var (agent, enrolled) = await api.EnrolledAgent("web-01", new Dictionary<string, string> { ["role"] = "app" });
        var batch = new FimAlertBatch
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = "w-1", Time = T0, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = FimOperation.Write,
                    Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available,
                    Process = new FimProcess { Pid = 4242, Name = "vi", Executable = "/usr/bin/vi", User = "deploy", Uid = 1001 },
                },
            ],
        };

        await RefuseFindingsAsync(true);
        try
        {
            await Assert.ThrowsAnyAsync<PlatformApiException>(() => agent.PushFimAlertsAsync(batch, enrolled.Agent.Id));
        }
        finally
        {
            await RefuseFindingsAsync(false);
        }

        Assert.Empty((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items);
        Assert.Empty((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id)).Items);

        var retried = await agent.PushFimAlertsAsync(batch, enrolled.Agent.Id);
        Assert.Equal((1, 1, 0, 0), (retried.Received, retried.Stored, retried.Folded, retried.Duplicates));
        var alert = Assert.Single((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items);
        var incident = Assert.Single((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id)).Items);
        Assert.Equal(IncidentCategory.FimTamper, incident.Category);
        var finding = Assert.Single((await api.Admin().ListIncidentFindingsAsync(incident.Id)).Items);
        Assert.Equal([alert.Id], finding.FimAlertIds);
    }

    private async Task RefuseFindingsAsync(bool refuse)
    {
        var database = api.Services.GetRequiredService<Database>();
        var postgres = database.Provider == StorageProvider.Postgres;
        var sql = (refuse, postgres) switch
        {
            (true, false) => "create trigger refuse_finding before insert on incident_finding begin select raise(abort, 'refused by the test'); end",
            (false, false) => "drop trigger refuse_finding",
            (true, true) => """
                create function refuse_finding() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$;
                create trigger refuse_finding before insert on incident_finding for each row execute function refuse_finding();
                """,
            (false, true) => "drop trigger refuse_finding on incident_finding; drop function refuse_finding();",
        };
        await using var write = await database.BeginWriteAsync(CancellationToken.None);
        await write.Db.ExecuteAsync(sql, transaction: write.Transaction);
        await write.CommitAsync(CancellationToken.None);
    }
}

public sealed class FimAlertFindingTestsOnSqlite(SqliteApi api) : FimAlertFindingTests(api), IClassFixture<SqliteApi>;

public sealed class FimAlertFindingTestsOnPostgres(PostgresApi api) : FimAlertFindingTests(api), IClassFixture<PostgresApi>;

using System.Net.Http.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Http;

/// <summary>
/// Times more than Platform:Ingest:MaxClockSkew (5 minutes) ahead of the API's clock are refused, naming the field:
/// an event dated 2099 would head every "most recent" view, and a baseline check dated next year would keep a PCI
/// comparison passing. A time within the skew is an agent's clock running a little fast, and is kept.
/// </summary>
public abstract class ClockSkewTests(PlatformApi api)
{
    private DateTimeOffset Now => api.Time.GetUtcNow();

    private static async Task<System.Text.Json.JsonElement> Refused(HttpResponseMessage response, string field)
    {
        var errors = (await ProblemAssert.IsProblem(response, 400)).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), errors.ToString());
        Assert.Contains("ahead of the API's clock", messages[0].GetString());
        return errors;
    }

    [SkippableFact]
    public async Task A_flight_data_event_dated_ahead_of_the_api_is_refused_and_one_within_the_skew_is_kept()
    {
        var (_, enrolled) = await api.EnrolledAgent("skew-telemetry");
        var http = api.Http(enrolled.Secret);
        var url = $"/api/v1/agents/{enrolled.Agent.Id}/telemetry";

        var forged = await http.PostAsJsonAsync(url, Batch(1, Dns("ok", Now), Dns("forged", new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero))), PlatformClient.SerializerOptions);
        await Refused(forged, "events[1].time");
        var fast = await http.PostAsJsonAsync(url, Batch(1, Dns("fast", Now.AddMinutes(4))), PlatformClient.SerializerOptions);

        Assert.True(fast.IsSuccessStatusCode, await fast.Content.ReadAsStringAsync());
        var view = await api.Admin().GetHostForensicViewAsync(enrolled.Agent.Id);
        Assert.Equal(["fast"], view.Events.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task A_fim_alert_and_a_baseline_check_dated_ahead_of_the_api_are_refused()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("skew")));
        var (_, enrolled) = await api.EnrolledAgent("skew-fim", new Dictionary<string, string> { ["role"] = "app" });
        var http = api.Http(enrolled.Secret);
        var alert = new FimAlertReport
        {
            Id = "skew-1", Time = Now.AddDays(60), RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg",
            Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 1, Name = "vi" },
        };
        await Refused(await http.PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-alerts", new FimAlertBatch { Alerts = [alert] }, PlatformClient.SerializerOptions), "alerts[0].time");

        var check = new FimBaselineCheck { RuleId = rule.Id, Path = "/srv/app/application.cfg", CheckedAt = new DateTimeOffset(9999, 12, 30, 0, 0, 0, TimeSpan.Zero), Result = FimBaselineResult.Match };
        await Refused(await http.PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-baseline-checks", new FimBaselineCheckBatch { Checks = [check] }, PlatformClient.SerializerOptions), "checks[0].checkedAt");
    }

    [SkippableFact]
    public async Task The_pci_report_does_not_count_a_stored_comparison_dated_in_the_future()
    {
        var spec = FimRules.AppConfig(FimRules.Unique("skew-pci"));
        spec.Paths = [new FimPath { Path = "/srv/app/application.cfg" }];
        var team = FimRules.Unique("team");
        spec.Scope = new FimScope { Labels = new Dictionary<string, string> { ["team"] = team } };
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent("skew-pci", new Dictionary<string, string> { ["team"] = team });
        await agent.PushFimBaselineChecksAsync(new FimBaselineCheckBatch
        {
            Checks = [new FimBaselineCheck { RuleId = rule.Id, Path = "/srv/app/application.cfg", CheckedAt = Now.AddDays(-1), Result = FimBaselineResult.Match }],
        }, enrolled.Agent.Id);
        Assert.Equal(PciState.Pass, (await api.Admin().GetPciReportAsync(enrolled.Agent.Id)).Requirements.Single(r => r.Id == "11.5.2").State);

        // As a check stored before times were checked would be: dated two months ahead.
        await using (var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None))
        {
            await write.Db.ExecuteAsync("update fim_baseline_check set checked_at = @future where agent_id = @agentId", new { future = Now.AddDays(60), agentId = enrolled.Agent.Id }, write.Transaction);
            await write.CommitAsync(CancellationToken.None);
        }

        var report = await api.Admin().GetPciReportAsync(enrolled.Agent.Id);
        var baseline = report.Requirements.Single(r => r.Id == "11.5.2");
        Assert.Equal(PciState.NoEvidence, baseline.State); // as if never compared, by an agent that never sent a heartbeat
        Assert.Null(Assert.Single(baseline.Paths).LastCheckedAt);
    }
}

public sealed class ClockSkewTestsOnSqlite(SqliteApi api) : ClockSkewTests(api), IClassFixture<SqliteApi>;

public sealed class ClockSkewTestsOnPostgres(PostgresApi api) : ClockSkewTests(api), IClassFixture<PostgresApi>;

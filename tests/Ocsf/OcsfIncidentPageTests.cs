using System.Net;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Ocsf;

/// <summary>
/// A page of incidents as OCSF reads their findings a group of incidents at a time: across more incidents than one group,
/// each Incident Finding lists its own findings and no other's, and each is followed by exactly those as Detection
/// Findings, on both stores.
/// </summary>
public abstract class OcsfIncidentPageTests(PlatformApi api)
{
    [Fact]
    public async Task Each_incident_of_a_page_wider_than_one_findings_group_lists_its_own_findings()
    {
        var s = await StartAsync(api);
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("ocsf-page")));
        var secrets = FimRules.AppConfig(FimRules.Unique("ocsf-page-secrets"));
        secrets.Paths = [new FimPath { Path = "/srv/app/secrets.cfg" }];
        var second = await api.Admin().CreateFimRuleAsync(secrets);
        var incidents = Api.Ocsf.OcsfIncidents.FindingsReadTogether + 3;
        for (var i = 0; i < incidents; i++)
        {
            // One container per incident; a second finding (a write under the other rule) for every third one.
            FimRule[] written = i % 3 == 0 ? [rule, second] : [rule];
            await s.Agent.PushFimAlertsAsync(new FimAlertBatch
            {
                Alerts = [.. written.Select((r, n) => new FimAlertReport
                {
                    Id = $"page-{i}-{n}", Time = T0.AddSeconds(i * 10 + n), RuleId = r.Id, RuleVersion = r.Version, Path = r.Paths[0].Path, Action = FimOperation.Write,
                    Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Available, Container = new ContainerRef { Id = $"0cf5{i:x2}00000000" },
                    Process = new FimProcess { Pid = 300 + i, Name = "vi", Executable = $"/opt/editor-{i}/vi" },
                })],
            }, s.AgentId);
        }

        var json = await s.IncidentsAsync();
        Assert.Equal(incidents, json.Count);
        Assert.Contains(json, i => i.FindingCount > 1);
        using var http = api.Http(api.AdminSecret);
        using var response = await http.GetAsync($"api/v1/incidents?agentId={s.AgentId}&format=ocsf&limit={incidents}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

        string? current = null;
        var listedBy = new Dictionary<string, List<string>>();
        var followedBy = new Dictionary<string, List<string>>();
        foreach (var line in lines)
        {
            if (line.GetProperty("class_uid").GetInt32() == 2005)
            {
                current = line.GetProperty("metadata").GetProperty("uid").GetString()!;
                listedBy[current] = [.. line.GetProperty("finding_info_list").EnumerateArray().Select(f => f.GetProperty("uid").GetString()!)];
                followedBy[current] = [];
                continue;
            }

            Assert.Equal(current, line.GetProperty("metadata").GetProperty("correlation_uid").GetString());
            followedBy[current!].Add(line.GetProperty("finding_info").GetProperty("uid").GetString()!);
        }

        Assert.Equal(json.Select(i => i.Id).Order(), listedBy.Keys.Order());
        foreach (var incident in json)
        {
            var findings = (await s.FindingsAsync(incident)).Select(f => f.Id).ToList();
            Assert.Equal(incident.FindingCount, findings.Count);
            Assert.Equal(findings, listedBy[incident.Id]);
            Assert.Equal(findings, followedBy[incident.Id]);
        }
    }
}

public sealed class OcsfIncidentPageTestsOnSqlite(SqliteApi api) : OcsfIncidentPageTests(api), IClassFixture<SqliteApi>;

public sealed class OcsfIncidentPageTestsOnPostgres(PostgresApi api) : OcsfIncidentPageTests(api), IClassFixture<PostgresApi>;

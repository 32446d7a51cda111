using System.Net;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using Platform.Tests.WebConsole;

namespace Platform.Tests.Ocsf;

/// <summary>
/// What a SIEM pulls as OCSF, from data the real agent's <c>simulate</c> delivered and detection made: the struts2
/// incident and its chain (listIncidents), the flight data around it (listTelemetryEvents), and FIM alerts
/// (exportFimAlerts), each line validated against the class it claims by <see cref="OcsfSchema"/>, and what it says
/// checked against the platform's own JSON.
/// </summary>
public sealed class OcsfExportTests(ConsoleApi api) : IClassFixture<ConsoleApi>
{
    private static async Task<List<JsonElement>> LinesAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        foreach (var line in lines)
        {
            var problems = OcsfSchema.Instance.Validate(line);
            Assert.True(problems.Count == 0, $"class {line.GetProperty("class_uid")}: {string.Join("; ", problems)}\n{line}");
        }
        return lines;
    }

    private static int Class(JsonElement evt) => evt.GetProperty("class_uid").GetInt32();

    [Fact]
    public async Task The_struts2_incident_and_its_chain_come_out_as_valid_incident_and_detection_findings()
    {
        var agentId = await api.SimulateAsync("ocsf-01", "struts2");
        var (_, analyst) = await api.ClientWithRole(Role.Analyst);
        using var http = api.Http(analyst.Secret);

        var lines = await LinesAsync(await http.GetAsync($"api/v1/incidents?agentId={agentId}&format=ocsf&limit=10"));
        var incidents = lines.Where(l => Class(l) == 2005).ToList();
        Assert.Equal(2, incidents.Count); // data exfiltration and the shell from the server
        var json = (await api.Client(analyst.Secret).ListIncidentsAsync(agentId: agentId)).Items;
        var exfiltration = json.Single(i => i.Category == IncidentCategory.DataExfiltration);
        var incident = incidents.Single(i => i.GetProperty("metadata").GetProperty("uid").GetString() == exfiltration.Id);

        Assert.Equal((5, "Critical", 1, "New"), (incident.GetProperty("severity_id").GetInt32(), incident.GetProperty("severity").GetString(),
            incident.GetProperty("status_id").GetInt32(), incident.GetProperty("status").GetString()));
        Assert.Equal(exfiltration.Summary, incident.GetProperty("desc").GetString());
        Assert.Equal(exfiltration.LastSeen.ToUnixTimeMilliseconds(), incident.GetProperty("end_time").GetInt64());
        Assert.Contains("incident", incident.GetProperty("metadata").GetProperty("profiles").EnumerateArray().Select(p => p.GetString()));
        Assert.EndsWith($"/console/incidents/{exfiltration.Id}", incident.GetProperty("src_url").GetString(), StringComparison.Ordinal);
        var attacks = incident.GetProperty("attacks").EnumerateArray().ToList();
        Assert.Contains(attacks, a => a.GetProperty("technique").GetProperty("uid").GetString() == "T1041"
            && a.GetProperty("technique").GetProperty("name").GetString() == "Exfiltration Over C2 Channel"
            && a.GetProperty("tactic").GetProperty("name").GetString() == "Exfiltration");

        // Its findings follow it, as Detection Findings named by finding_info_list and correlated to it.
        var listed = incident.GetProperty("finding_info_list").EnumerateArray().Select(f => f.GetProperty("uid").GetString()).ToList();
        Assert.Equal(exfiltration.FindingCount, listed.Count);
        var findings = lines.Where(l => Class(l) == 2004 && l.GetProperty("metadata").GetProperty("correlation_uid").GetString() == exfiltration.Id).ToList();
        Assert.Equal(listed.Order(), findings.Select(f => f.GetProperty("finding_info").GetProperty("uid").GetString()).Order());

        // The chain: curl's parents are sh then java; the evidence has the read of /etc/passwd and the connection out.
        var evidences = findings.SelectMany(f => f.GetProperty("evidences").EnumerateArray()).ToList();
        var curl = evidences.Select(e => e.TryGetProperty("process", out var p) ? p : default).First(p => p.ValueKind == JsonValueKind.Object && p.GetProperty("name").GetString() == "curl");
        Assert.Equal(("sh", "java"), (curl.GetProperty("parent_process").GetProperty("name").GetString(), curl.GetProperty("parent_process").GetProperty("parent_process").GetProperty("name").GetString()));
        Assert.Equal(["/bin/sh", "/usr/bin/java"], curl.GetProperty("lineage").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains(evidences, e => e.TryGetProperty("file", out var file) && file.GetProperty("path").GetString() == "/etc/passwd");
        Assert.Contains(evidences, e => e.TryGetProperty("dst_endpoint", out var dst) && dst.GetProperty("ip").GetString() == "203.0.113.9" && dst.GetProperty("port").GetInt32() == 80);
        Assert.All(evidences, e => Assert.Equal("7f9c2ba4e88f", e.GetProperty("container").GetProperty("uid").GetString()));
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task Flight_data_pages_as_ocsf_activity_with_the_cursor_in_a_header_and_the_same_events_as_json()
    {
        var agentId = await api.SimulateAsync("ocsf-02", "struts2");
        var (reader, analyst) = await api.ClientWithRole(Role.Analyst);
        using var http = api.Http(analyst.Secret);

        var json = await AllPages.ReadAsync<TelemetryEvent>(5, async cursor => await reader.ListTelemetryEventsAsync(agentId, limit: 5, cursor: cursor));
        var ocsf = new List<JsonElement>();
        string? next = null;
        do
        {
            using var response = await http.GetAsync($"api/v1/telemetry/events?agentId={agentId}&format=ocsf&limit=5" + (next is null ? "" : $"&cursor={next}"));
            var page = await LinesAsync(response);
            Assert.InRange(page.Count, 1, 5);
            ocsf.AddRange(page);
            next = response.Headers.TryGetValues("X-Next-Cursor", out var values) ? values.Single() : null;
            if (next is not null)
                Assert.Contains($"cursor={next}", response.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
        }
        while (next is not null);

        Assert.Equal(json.Select(e => e.Id), ocsf.Select(e => e.GetProperty("metadata").GetProperty("uid").GetString()));
        Assert.Equal([1001, 1007, 4001, 4003], ocsf.Select(Class).Distinct().Order());
        var start = ocsf.First(e => Class(e) == 1007 && e.GetProperty("process").GetProperty("name").GetString() == "curl");
        Assert.Equal((1, 100701L, "sh"), (start.GetProperty("activity_id").GetInt32(), start.GetProperty("type_uid").GetInt64(), start.GetProperty("actor").GetProperty("process").GetProperty("name").GetString()));
        Assert.Contains("203.0.113.9", start.GetProperty("process").GetProperty("cmd_line").GetString(), StringComparison.Ordinal);
        var read = ocsf.Single(e => Class(e) == 1001 && e.GetProperty("file").GetProperty("path").GetString() == "/etc/passwd");
        Assert.Equal(("Read", "passwd"), (read.GetProperty("activity_name").GetString(), read.GetProperty("file").GetProperty("name").GetString()));
        var egress = ocsf.Single(e => Class(e) == 4001 && e.TryGetProperty("dst_endpoint", out var dst) && dst.GetProperty("ip").GetString() == "203.0.113.9");
        Assert.Equal(("Outbound", "tcp"), (egress.GetProperty("connection_info").GetProperty("direction").GetString(), egress.GetProperty("connection_info").GetProperty("protocol_name").GetString()));
        Assert.Contains(ocsf, e => Class(e) == 4003 && e.GetProperty("query").GetProperty("hostname").GetString() == "vault");
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task Fim_alerts_export_as_file_system_activity_a_prevented_write_blocked()
    {
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.AppConfig(FimRules.Unique("ocsf")));
        var s = await IncidentScenario.StartAsync(api, "ocsf-fim");
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-1);
        FimAlertReport Report(string id, FimOperation action, FimAlertEffect effect) => new()
        {
            Id = id, Time = t0, RuleId = rule.Id, RuleVersion = rule.Version, Path = "/srv/app/application.cfg", Action = action, Effect = effect,
            Attribution = FimAttribution.Available, Process = new FimProcess { Pid = 5121, Name = "vi", Executable = "/usr/bin/vi", User = "deploy", Uid = 1001 },
        };
        await s.Agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report("r", FimOperation.Read, FimAlertEffect.Alerted), Report("w", FimOperation.Write, FimAlertEffect.Prevented)] }, s.AgentId);

        using var http = api.Http(api.AdminSecret);
        using var response = await http.GetAsync($"api/v1/fim/alerts/export?format=ocsf&agentId={s.AgentId}");
        var lines = await LinesAsync(response);
        Assert.EndsWith(".ocsf.jsonl", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'), StringComparison.Ordinal);
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Equal(1001, Class(l)));
        var write = lines.Single(l => l.GetProperty("activity_name").GetString() == "Update");
        Assert.Equal(("Blocked", "Denied", "Failure"), (write.GetProperty("disposition").GetString(), write.GetProperty("action").GetString(), write.GetProperty("status").GetString()));
        Assert.Equal(("vi", "deploy"), (write.GetProperty("actor").GetProperty("process").GetProperty("name").GetString(), write.GetProperty("actor").GetProperty("process").GetProperty("user").GetProperty("name").GetString()));
        Assert.Equal((rule.Id, rule.Name), (write.GetProperty("policy").GetProperty("uid").GetString(), write.GetProperty("policy").GetProperty("name").GetString()));
        var read = lines.Single(l => l.GetProperty("activity_name").GetString() == "Read");
        Assert.Equal("Detected", read.GetProperty("disposition").GetString());
        api.AssertServedToTheSpec();
    }

    [Theory]
    [InlineData("api/v1/incidents?format=xml")]
    [InlineData("api/v1/incidents?format=OCSF")]
    [InlineData("api/v1/fim/alerts/export?format=ocsf2")]
    public async Task An_unknown_format_is_a_problem(string target)
    {
        using var http = api.Http(api.AdminSecret);
        using var response = await http.GetAsync(target);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

using System.Net;
using System.Net.Http.Json;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Agents;

public abstract class AgentTests(PlatformApi api)
{
    [SkippableFact]
    public async Task A_heartbeat_status_is_shown_on_the_agent_until_the_next_one_with_a_status()
    {
        var (agent, enrolled) = await api.EnrolledAgent("status-01");
        Assert.Null((await api.Admin().GetAgentAsync(enrolled.Agent.Id)).Status);
        var status = new AgentStatus
        {
            Fim = new AgentFimStatus { Rules = 3, WatchedDirectories = 42, Overflows = 1, Unwatchable = 2 },
            Spool = new AgentSpoolStatus { TelemetryRecords = 1200, AlertRecords = 5, Bytes = 401_233, DroppedTelemetry = 7, QuarantinedRegions = 1, RejectedBatches = 0 },
            Capabilities = new AgentCapabilities
            {
                ProcessAttribution = new AgentCapability { Available = false, Reason = "no CAP_SYS_ADMIN" },
                Prevention = new AgentCapability { Available = false, Reason = "no CAP_SYS_ADMIN" },
                ProcessEvents = AgentProcessEvents.ProcPoll,
            },
        };

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { AgentVersion = "1.2.0", Status = status }, enrolled.Agent.Id);
        api.Time.Advance(TimeSpan.FromSeconds(30));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id); // alive, nothing new to say

        var read = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(status), System.Text.Json.JsonSerializer.Serialize(read.Status));
        Assert.Equal(read.LastSeenAt!.Value.AddSeconds(-30), read.StatusReportedAt);
        Assert.Equal("no CAP_SYS_ADMIN", read.Status!.Capabilities.Prevention.Reason);
    }

    [SkippableFact]
    public async Task A_status_with_impossible_counts_is_refused()
    {
        var (_, enrolled) = await api.EnrolledAgent("status-02");
        var body = """{"status":{"fim":{"rules":-1,"watchedDirectories":0,"overflows":0,"unwatchable":0},"spool":{"telemetryRecords":0,"alertRecords":0,"bytes":-5,"droppedTelemetry":0,"quarantinedRegions":0,"rejectedBatches":0},"capabilities":{"processAttribution":{"available":true},"prevention":{"available":true},"processEvents":"netlink"}}}""";
        var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await ProblemAssert.IsProblem(response, 400);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("status.fim.rules", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("status.spool.bytes", out _), errors.ToString());
    }

    [SkippableFact]
    public async Task The_alert_fold_counts_of_a_heartbeat_are_stored_and_shown_and_an_older_agent_without_them_still_validates()
    {
        var (agent, enrolled) = await api.EnrolledAgent("status-fold-01");
        var status = new AgentStatus
        {
            Fim = new AgentFimStatus { Rules = 2, WatchedDirectories = 3, Overflows = 0, Unwatchable = 0, FoldedAlerts = 17, ForgottenAttempts = 4096 },
            Spool = new AgentSpoolStatus { TelemetryRecords = 0, AlertRecords = 0, Bytes = 0, DroppedTelemetry = 0, QuarantinedRegions = 0, RejectedBatches = 0 },
            Capabilities = new AgentCapabilities { ProcessAttribution = new AgentCapability { Available = true }, Prevention = new AgentCapability { Available = true } },
        };

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = status }, enrolled.Agent.Id);

        var read = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        var listed = Assert.Single((await api.Admin().ListAgentsAsync(hostname: "status-fold-01")).Items);
        foreach (var shown in new[] { read, listed })
            Assert.Equal(((long?)17, (long?)4096), (shown.Status!.Fim.FoldedAlerts, shown.Status.Fim.ForgottenAttempts));

        // An agent older than the fields: accepted, and shown without them.
        var old = """{"status":{"fim":{"rules":1,"watchedDirectories":0,"overflows":0,"unwatchable":0},"spool":{"telemetryRecords":0,"alertRecords":0,"bytes":0,"droppedTelemetry":0,"quarantinedRegions":0,"rejectedBatches":0},"capabilities":{"processAttribution":{"available":true},"prevention":{"available":true},"processEvents":"netlink"}}}""";
        var accepted = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat", new StringContent(old, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync());
        var older = (await api.Admin().GetAgentAsync(enrolled.Agent.Id)).Status!.Fim;
        Assert.Equal((1, (long?)null, (long?)null), (older.Rules, older.FoldedAlerts, older.ForgottenAttempts));

        // Impossible counts: a 400 naming each field.
        var negative = old.Replace("\"unwatchable\":0}", "\"unwatchable\":0,\"foldedAlerts\":-1,\"forgottenAttempts\":-2}", StringComparison.Ordinal);
        var refused = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat", new StringContent(negative, System.Text.Encoding.UTF8, "application/json"));
        var errors = (await ProblemAssert.IsProblem(refused, 400)).GetProperty("errors");
        Assert.True(errors.TryGetProperty("status.fim.foldedAlerts", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("status.fim.forgottenAttempts", out _), errors.ToString());
    }

    [SkippableFact]
    public async Task The_sensor_status_of_a_heartbeat_is_stored_and_shown_where_the_agent_is_read()
    {
        var (agent, enrolled) = await api.EnrolledAgent("status-sensor-01");
        var status = new AgentStatus
        {
            Sensor = new AgentSensorStatus { Mode = AgentSensorMode.Fallback, Reason = "bpf(BPF_PROG_LOAD): Operation not permitted", LostEvents = 1234, SensitiveFiles = 17 },
            Fim = new AgentFimStatus { Rules = 0, WatchedDirectories = 0, Overflows = 0, Unwatchable = 0 },
            Spool = new AgentSpoolStatus { TelemetryRecords = 0, AlertRecords = 0, Bytes = 0, DroppedTelemetry = 0, QuarantinedRegions = 0, RejectedBatches = 0 },
            Capabilities = new AgentCapabilities
            {
                ProcessAttribution = new AgentCapability { Available = true },
                Prevention = new AgentCapability { Available = true },
                ProcessEvents = AgentProcessEvents.Ebpf,
            },
        };

        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat { Status = status }, enrolled.Agent.Id);

        var read = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        var listed = Assert.Single((await api.Admin().ListAgentsAsync(hostname: "status-sensor-01")).Items);
        foreach (var shown in new[] { read, listed })
        {
            Assert.Equal((AgentSensorMode.Fallback, "bpf(BPF_PROG_LOAD): Operation not permitted", 1234L, (int?)17),
                (shown.Status!.Sensor!.Mode, shown.Status.Sensor.Reason, shown.Status.Sensor.LostEvents, shown.Status.Sensor.SensitiveFiles));
            Assert.Equal(AgentProcessEvents.Ebpf, shown.Status.Capabilities.ProcessEvents);
        }

        using var raw = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{enrolled.Agent.Id}");
        var json = System.Text.Json.JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement.GetProperty("status");
        Assert.Equal("fallback", json.GetProperty("sensor").GetProperty("mode").GetString());
        Assert.Equal("ebpf", json.GetProperty("capabilities").GetProperty("processEvents").GetString());
    }

    [SkippableFact]
    public async Task A_sensor_status_with_impossible_values_is_refused_naming_the_field()
    {
        var (_, enrolled) = await api.EnrolledAgent("status-sensor-02");
        const string Rest = ""","fim":{"rules":0,"watchedDirectories":0,"overflows":0,"unwatchable":0},"spool":{"telemetryRecords":0,"alertRecords":0,"bytes":0,"droppedTelemetry":0,"quarantinedRegions":0,"rejectedBatches":0},"capabilities":{"processAttribution":{"available":true},"prevention":{"available":true},"processEvents":"ebpf"}""";
        var reason = new string('x', 501);
        var body = "{\"status\":{\"sensor\":{\"mode\":\"ebpf\",\"reason\":\"" + reason + "\",\"lostEvents\":-1,\"sensitiveFiles\":1000001}" + Rest + "}}";

        var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var errors = (await ProblemAssert.IsProblem(response, 400)).GetProperty("errors");
        foreach (var field in new[] { "status.sensor.reason", "status.sensor.lostEvents", "status.sensor.sensitiveFiles" })
            Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
        Assert.Null((await api.Admin().GetAgentAsync(enrolled.Agent.Id)).Status);

        var unknownMode = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/heartbeat",
            new StringContent("""{"status":{"sensor":{"mode":"kprobe","lostEvents":0}""" + Rest + "}}", System.Text.Encoding.UTF8, "application/json"));
        await ProblemAssert.IsProblem(unknownMode, 400);
    }

    [SkippableFact]
    public async Task Labels_are_replaced_with_if_match_and_a_stale_etag_gets_412()
    {
        var (_, enrolled) = await api.EnrolledAgent("app-01", new Dictionary<string, string> { ["role"] = "app" });
        var agentUrl = $"/api/v1/agents/{enrolled.Agent.Id}";
        var http = api.Http(api.AdminSecret);

        var read = await http.GetAsync(agentUrl);
        Assert.Equal("\"1\"", read.Headers.ETag?.Tag);

        using var first = new HttpRequestMessage(HttpMethod.Put, agentUrl + "/labels") { Content = JsonContent.Create(new { labels = new { role = "app", env = "prod" } }) };
        first.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        var replaced = await http.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        Assert.Equal("\"2\"", replaced.Headers.ETag?.Tag);

        using var stale = new HttpRequestMessage(HttpMethod.Put, agentUrl + "/labels") { Content = JsonContent.Create(new { labels = new { role = "db" } }) };
        stale.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
        var problem = await ProblemAssert.IsProblem(await http.SendAsync(stale), 412);
        Assert.Contains("\"2\"", problem.GetProperty("detail").GetString());

        var agent = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        Assert.Equal(new Dictionary<string, string> { ["env"] = "prod", ["role"] = "app" }, agent.Labels);
        Assert.Equal(2, agent.Version);
        var audit = (await api.Admin().ListAuditEntriesAsync(targetId: enrolled.Agent.Id, action: "agent.update-labels")).Items.Single();
        Assert.DoesNotContain("prod", audit.Before!.AdditionalProperties["labels"].ToString());
        Assert.Contains("prod", audit.After!.AdditionalProperties["labels"].ToString());
    }

    [SkippableFact]
    public async Task Labels_without_if_match_are_replaced_by_operators()
    {
        var (_, enrolled) = await api.EnrolledAgent("app-02");
        var (operatorClient, _) = await api.ClientWithRole(Role.Operator);

        var agent = await operatorClient.ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string> { ["team"] = "payments" } }, enrolled.Agent.Id);

        Assert.Equal("payments", agent.Labels["team"]);
    }

    [SkippableFact]
    public async Task Invalid_labels_are_400_with_field_errors()
    {
        var (_, enrolled) = await api.EnrolledAgent("app-03");
        var labels = Enumerable.Range(0, 65).ToDictionary(i => $"k{i}", i => "v");

        var errors = await ProblemAssert.FieldErrors(() => api.Admin().ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = labels }, enrolled.Agent.Id));

        Assert.Contains(errors.Keys, k => k.StartsWith("labels", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Agents_are_listed_by_host_name_prefix_page_by_page()
    {
        var prefix = "lst" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 3; i++)
            await api.EnrolledAgent($"{prefix}-{i}");

        var first = await api.Admin().ListAgentsAsync(limit: 2, hostname: prefix);
        var second = await api.Admin().ListAgentsAsync(limit: 2, cursor: first.NextCursor, hostname: prefix);

        Assert.Equal(2, first.Items.Count);
        Assert.NotNull(first.NextCursor);
        Assert.Single(second.Items);
        Assert.Null(second.NextCursor);
        Assert.Equal([$"{prefix}-0", $"{prefix}-1", $"{prefix}-2"], first.Items.Concat(second.Items).Select(a => a.Hostname));
    }

    [SkippableFact]
    public async Task Unknown_agent_is_404()
    {
        await ProblemAssert.Refused(404, () => api.Admin().GetAgentAsync("agt_00000000000000000000000000000000"));
        await ProblemAssert.Refused(404, () => api.Admin().ReplaceAgentLabelsAsync(new AgentLabelsReplace { Labels = new Dictionary<string, string>() }, "agt_00000000000000000000000000000000"));
    }
}

public sealed class AgentTestsOnSqlite(SqliteApi api) : AgentTests(api), IClassFixture<SqliteApi>;

public sealed class AgentTestsOnPostgres(PostgresApi api) : AgentTests(api), IClassFixture<PostgresApi>;

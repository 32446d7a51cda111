using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Redaction;

/// <summary>
/// An old agent (one that does not redact) pushes the twelve forms in clear: the api redacts them at ingest, before
/// anything is stored, and says why in each event's <c>redacted</c>. No canary is in any table, file, response,
/// bundle or log afterwards.
/// </summary>
public abstract class IngestRedactionTests(PlatformApi api)
{
    [Fact]
    public async Task Secrets_pushed_in_clear_by_an_old_agent_are_redacted_at_ingest_and_stored_nowhere()
    {
        var canaries = new Canaries();
        var (agent, enrolled) = await api.EnrolledAgent("old-agent-" + Guid.NewGuid().ToString("N")[..6]);
        var t0 = api.Time.GetUtcNow().AddMinutes(-5);
        // Raw JSON as an old agent writes it (no 'redacted'), also the same secrets in a path and a working directory.
        var events = new JsonArray();
        var n = 0;
        foreach (var form in canaries.Forms)
        {
            events.Add(new JsonObject
            {
                ["kind"] = "process_start", ["id"] = $"p{n}", ["time"] = Rfc(t0.AddSeconds(n++)), ["pid"] = 1000 + n, ["ppid"] = 1,
                ["processName"] = form.Program, ["executable"] = "/usr/bin/" + form.Program,
                ["args"] = new JsonArray([form.Program, .. form.Args.Select(a => (JsonNode)a!)]), ["cwd"] = "/home/app",
            });
        }

        events.Add(new JsonObject { ["kind"] = "file_access", ["id"] = "f1", ["time"] = Rfc(t0.AddSeconds(n++)), ["path"] = $"/tmp/DB_PASSWORD={canaries.C(7)}", ["operation"] = "read" });
        var http = api.Http(enrolled.Secret);
        using (var response = await http.PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/telemetry", new JsonObject { ["id"] = "old-1", ["sequence"] = 1, ["events"] = events }))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var stored = (await api.Admin().ListTelemetryEventsAsync(limit: 100, agentId: enrolled.Agent.Id)).Items;
        Assert.Equal(canaries.Forms.Count + 1, stored.Count);
        for (var i = 0; i < canaries.Forms.Count; i++)
        {
            var start = Assert.IsType<ProcessStartEvent>(stored.Single(e => e.Id == $"p{i}"));
            Assert.Contains(canaries.Forms[i].Reason, start.Redacted ?? []);
            Assert.Contains(start.Args!, a => a.Contains(SecretRedactor.Marker, StringComparison.Ordinal));
        }

        Assert.Contains("secret-variable", stored.Single(e => e.Id == "f1").Redacted ?? []);

        Assert.Empty(canaries.FoundIn(await Canaries.DumpResponses(api, enrolled.Agent.Id, t0.AddMinutes(-1), t0.AddMinutes(2))));
        Assert.Empty(canaries.FoundIn(await Canaries.DumpStore(api)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpFiles(api.DataDirectory)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpLog(api)));
    }

    [Fact]
    public async Task An_agent_may_send_its_own_reasons_and_the_api_adds_those_it_finds()
    {
        var (_, enrolled) = await api.EnrolledAgent("reasons-" + Guid.NewGuid().ToString("N")[..6]);
        var time = Rfc(api.Time.GetUtcNow().AddMinutes(-1));
        var http = api.Http(enrolled.Secret);
        var batch = new JsonObject
        {
            ["id"] = "r-1", ["sequence"] = 1,
            ["events"] = new JsonArray(new JsonObject
            {
                ["kind"] = "process_start", ["id"] = "a", ["time"] = time, ["pid"] = 5, ["executable"] = "/usr/bin/curl",
                ["args"] = new JsonArray("curl", "-u", "bob:hunter2", "https://x"), ["redacted"] = new JsonArray("site-pin"),
            }),
        };
        using (var response = await http.PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/telemetry", batch))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var stored = Assert.IsType<ProcessStartEvent>(Assert.Single((await api.Admin().ListTelemetryEventsAsync(agentId: enrolled.Agent.Id)).Items));
        Assert.Equal(["site-pin", "user-password"], stored.Redacted);
        Assert.Equal(["curl", "-u", "bob:[REDACTED]", "https://x"], stored.Args);
    }

    [Fact]
    public async Task A_fim_alert_s_command_line_is_redacted_at_ingest_and_says_so()
    {
        var canaries = new Canaries();
        var host = FimRules.Unique("fim-old-agent");
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.Everywhere(FimRules.Unique("everything"), host));
        var (_, enrolled) = await api.EnrolledAgent(host);
        var time = Rfc(api.Time.GetUtcNow().AddMinutes(-1));
        JsonObject Alert(string id, string path, JsonObject process) => new()
        {
            ["id"] = id, ["time"] = time, ["ruleId"] = rule.Id, ["ruleVersion"] = rule.Version, ["path"] = path,
            ["action"] = "write", ["effect"] = "alerted", ["attribution"] = "available", ["process"] = process,
        };
        var curl = canaries.Forms[0];
        var alerts = new JsonArray(
            Alert("clear", "/srv/app/a.cfg", new JsonObject { ["pid"] = 7, ["name"] = "curl", ["commandLine"] = string.Join(' ', [curl.Program, .. curl.Args]) }),
            Alert("own", "/srv/app/b.cfg", new JsonObject { ["pid"] = 8, ["name"] = "mysql", ["commandLine"] = $"mysql -uroot -p{canaries.C(4)}", ["redacted"] = new JsonArray("site-pin") }),
            Alert("plain", "/srv/app/c.cfg", new JsonObject { ["pid"] = 9, ["name"] = "vi", ["commandLine"] = "vi /srv/app/c.cfg" }));
        using (var response = await api.Http(enrolled.Secret).PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-alerts", new JsonObject { ["alerts"] = alerts }))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());

        var stored = (await api.Admin().ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.ToDictionary(a => a.Path);
        Assert.Contains("authorization", stored["/srv/app/a.cfg"].Process!.Redacted ?? []);
        Assert.Contains(SecretRedactor.Marker, stored["/srv/app/a.cfg"].Process!.CommandLine);
        Assert.Equal(["site-pin", "secret-option"], stored["/srv/app/b.cfg"].Process!.Redacted);
        Assert.Null(stored["/srv/app/c.cfg"].Process!.Redacted);
        Assert.Empty(canaries.FoundIn(await Canaries.DumpStore(api)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpLog(api)));

        // Reasons an agent sends are names, not text: anything else is a 400 naming the field.
        alerts = new JsonArray(Alert("bad", "/srv/app/d.cfg", new JsonObject { ["pid"] = 7, ["name"] = "vi", ["redacted"] = new JsonArray("Not A Reason") }));
        using var refused = await api.Http(enrolled.Secret).PostAsJsonAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-alerts", new JsonObject { ["alerts"] = alerts });
        Assert.Equal(400, (int)refused.StatusCode);
        Assert.Contains("alerts[0].process.redacted", await refused.Content.ReadAsStringAsync());
    }

    private static string Rfc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("[\"Not A Reason\"]")]
    [InlineData("\"authorization\"")]
    [InlineData("[1]")]
    public async Task Malformed_reasons_are_a_400_naming_the_field(string redacted)
    {
        var (_, enrolled) = await api.EnrolledAgent("bad-reasons-" + Guid.NewGuid().ToString("N")[..6]);
        var time = Rfc(api.Time.GetUtcNow().AddMinutes(-1));
        var body = $$"""{"id":"x","sequence":1,"events":[{"kind":"process_exit","id":"e","time":"{{time}}","pid":1,"redacted":{{redacted}}}]}""";
        using var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/telemetry", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("events[0].redacted", await response.Content.ReadAsStringAsync());
    }
}

public sealed class IngestRedactionTestsOnSqlite(SqliteApi api) : IngestRedactionTests(api), IClassFixture<SqliteApi>;

public sealed class IngestRedactionTestsOnPostgres(PostgresApi api) : IngestRedactionTests(api), IClassFixture<PostgresApi>;

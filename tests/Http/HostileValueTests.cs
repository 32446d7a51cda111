using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>
/// Values and encodings an attacker with a valid token would send (issue 18): corrupt or unsupported compression,
/// invalid UTF-8, NUL characters and unrepresentable times were 500s (on PostgreSQL above all); each is a 4xx problem.
/// </summary>
public abstract class HostileValueTests(PlatformApi api)
{
    private HttpClient Admin() => api.Http(api.AdminSecret);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [SkippableFact]
    public async Task Invalid_utf8_in_a_body_is_400()
    {
        var bytes = new ByteArrayContent([.. "{\"name\":\""u8.ToArray(), 0xFF, 0xC0, 0xED, 0xA0, 0x80, .. "\",\"role\":\"analyst\"}"u8.ToArray()]);
        bytes.Headers.ContentType = new("application/json");

        var response = await Admin().PostAsync("/api/v1/tokens", bytes);

        await ProblemAssert.IsProblem(response, 400);
    }

    [SkippableTheory]
    [InlineData("/api/v1/agents?hostname=%00")]
    [InlineData("/api/v1/incidents?hostname=%00")]
    [InlineData("/api/v1/incidents?hostname=web%0001")]
    [InlineData("/api/v1/fim/alerts?until=9999-12-31T23:59:59.9999999Z")]
    [InlineData("/api/v1/audit?until=9999-12-31T23:59:59.9999999Z")]
    public async Task Nul_and_unrepresentable_times_in_queries_are_400(string url)
    {
        var response = await Admin().GetAsync(url);

        await ProblemAssert.IsProblem(response, 400);
    }

    [SkippableFact]
    public async Task Telemetry_batches_refuse_duplicate_fields_and_nul()
    {
        var (agent, enrolled) = await api.EnrolledAgent("hostile-01");
        _ = agent;
        var http = api.Http(enrolled.Secret);
        var url = $"/api/v1/agents/{enrolled.Agent.Id}/telemetry";

        var duplicate = await http.PostAsync(url, Json("""{"id":"b1","sequence":1,"sequence":2,"events":[]}"""));
        await ProblemAssert.IsProblem(duplicate, 400);

        var nul = await http.PostAsync(url, Json($$"""{"id":"b2","sequence":1,"events":[{"kind":"process_start","id":"e1","time":"{{DateTimeOffset.UtcNow:O}}","pid":1,"executable":"/bin/a\u0000b"}]}"""));
        await ProblemAssert.IsProblem(nul, 400);
    }
}

public sealed class HostileValueTestsOnSqlite(SqliteApi api) : HostileValueTests(api), IClassFixture<SqliteApi>;

public sealed class HostileValueTestsOnPostgres(PostgresApi api) : HostileValueTests(api), IClassFixture<PostgresApi>;

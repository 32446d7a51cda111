using System.Net.Http.Headers;
using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>Every class of bad request gets an RFC 9457 problem with a 4xx status, never a 500.</summary>
public abstract class ProblemTests(PlatformApi api)
{
    private Task<HttpResponseMessage> PostTokens(string body, string contentType = "application/json")
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return api.Http(api.AdminSecret).PostAsync("/api/v1/tokens", content);
    }

    [SkippableFact]
    public async Task Malformed_json_is_400()
    {
        var problem = await ProblemAssert.IsProblem(await PostTokens("{\"name\": "), 400);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Wrong_content_type_is_415()
    {
        var problem = await ProblemAssert.IsProblem(await PostTokens("name=x&role=admin", "application/x-www-form-urlencoded"), 415);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Unknown_field_is_400_naming_it()
    {
        var problem = await ProblemAssert.IsProblem(await PostTokens("""{"name":"x","role":"analyst","isAdmin":true}"""), 400);
        Assert.Contains("isAdmin", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Missing_required_field_is_400_naming_it()
    {
        // Without this check a missing role would bind as the enum's first value: admin.
        var problem = await ProblemAssert.IsProblem(await PostTokens("""{"name":"x"}"""), 400);
        Assert.Contains("'role'", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Unknown_enum_value_is_400()
    {
        await ProblemAssert.IsProblem(await PostTokens("""{"name":"x","role":"root"}"""), 400);
    }

    [SkippableFact]
    public async Task Validation_errors_are_400_with_field_errors()
    {
        var problem = await ProblemAssert.IsProblem(await PostTokens("""{"name":"","role":"analyst"}"""), 400);
        Assert.Equal("https://platform.dev/problems/validation", problem.GetProperty("type").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
    }

    [SkippableFact]
    public async Task Unknown_route_is_404()
    {
        var problem = await ProblemAssert.IsProblem(await api.Http(api.AdminSecret).GetAsync("/api/v1/no-such-thing"), 404);
        Assert.Contains("/api/v1/no-such-thing", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Wrong_method_is_405()
    {
        await ProblemAssert.IsProblem(await api.Http(api.AdminSecret).PatchAsync("/api/v1/tokens", new StringContent("{}")), 405);
    }

    [SkippableFact]
    public async Task Bad_query_parameters_are_400()
    {
        var http = api.Http(api.AdminSecret);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/tokens?limit=abc"), 400);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/tokens?role=root"), 400);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/audit?since=yesterday"), 400);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/tokens?limit=201"), 400);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/tokens?cursor=" + new string('a', 201)), 400);
    }

    [SkippableFact]
    public async Task Parameters_are_checked_against_the_patterns_in_openapi_yaml()
    {
        var http = api.Http(api.AdminSecret);

        var problem = await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/tokens/not-a-token-id"), 400);
        Assert.Contains("tokenId", problem.GetProperty("detail").GetString());
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/audit?action=DROP%20TABLE"), 400);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/agents?hostname=web_01%25"), 400);
    }

    [SkippableFact]
    public async Task Every_response_states_the_rate_limit()
    {
        var response = await api.Http().GetAsync("/api/v1/health");
        Assert.Equal("600", response.Headers.GetValues("X-RateLimit-Limit").Single());
    }
}

public sealed class ProblemTestsOnSqlite(SqliteApi api) : ProblemTests(api), IClassFixture<SqliteApi>;

public sealed class ProblemTestsOnPostgres(PostgresApi api) : ProblemTests(api), IClassFixture<PostgresApi>;

using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>
/// JSON bodies are read as the spec writes them (issue 18): duplicate, miscased and unknown names, enums as numbers
/// or padded, NUL characters and null array items are 400s naming the field, never .NET types; none is read as admin.
/// </summary>
public abstract class StrictJsonTests(PlatformApi api)
{
    private HttpClient Admin() => api.Http(api.AdminSecret);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [SkippableTheory]
    [InlineData("""{"name":"dup","role":"analyst","role":"admin"}""")]
    [InlineData("""{"name":"case","Role":"admin"}""")]
    [InlineData("""{"name":"case","role":"analyst","Role":"admin"}""")]
    [InlineData("""{"name":"number","role":0}""")]
    [InlineData("""{"name":"padded","role":"admin "}""")]
    [InlineData("""{"name":"cased","role":"Admin"}""")]
    [InlineData("""{"name":"nul\u0000","role":"analyst"}""")]
    public async Task Loose_json_is_refused_not_read_as_admin(string body)
    {
        var response = await Admin().PostAsync("/api/v1/tokens", Json(body));

        await ProblemAssert.IsProblem(response, 400);
    }

    [SkippableFact]
    public async Task Problem_details_do_not_name_dotnet_types()
    {
        var response = await Admin().PostAsync("/api/v1/tokens", Json("""{"name":"x","role":"analyst","unknown":1}"""));

        var problem = await ProblemAssert.IsProblem(response, 400);
        var text = problem.GetRawText();
        Assert.DoesNotContain(".NET", text, StringComparison.Ordinal);
        Assert.DoesNotContain("TokenCreate", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        Assert.True(problem.GetProperty("errors").TryGetProperty("unknown", out _), text);
    }

    [SkippableFact]
    public async Task Nul_in_a_map_key_is_400()
    {
        var response = await Admin().PostAsync("/api/v1/fim/rules", Json("""{"name":"nul-key","severity":"high","scope":{"labels":{"ro\u0000le":"app"}},"paths":[{"path":"/srv/app.cfg"}],"operations":["read"],"effect":"alert"}"""));

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Contains("NUL", problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task Null_items_in_rule_arrays_are_400()
    {
        var response = await Admin().PostAsync("/api/v1/fim/rules", Json("""{"name":"nulls","severity":"high","scope":{"labels":{}},"paths":[null],"operations":["read"],"effect":"alert"}"""));

        await ProblemAssert.IsProblem(response, 400);
    }

    [SkippableFact]
    public async Task Null_items_in_alert_batches_are_400()
    {
        var (_, enrolled) = await api.EnrolledAgent("nulls-01");

        var response = await api.Http(enrolled.Secret).PostAsync($"/api/v1/agents/{enrolled.Agent.Id}/fim-alerts", Json("""{"alerts":[null]}"""));

        await ProblemAssert.IsProblem(response, 400);
    }
}

public sealed class StrictJsonTestsOnSqlite(SqliteApi api) : StrictJsonTests(api), IClassFixture<SqliteApi>;

public sealed class StrictJsonTestsOnPostgres(PostgresApi api) : StrictJsonTests(api), IClassFixture<PostgresApi>;

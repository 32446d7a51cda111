using System.Net;
using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>
/// YAML request bodies (issue 18): aliases, anchors, deep nesting, non-scalar and repeated keys and oversized
/// conversions were crashes, 500s or gigabytes of memory; each is a 400 (or 413) saying where, in YAML terms.
/// </summary>
public abstract class YamlBodyTests(PlatformApi api)
{
    private HttpClient Admin() => api.Http(api.AdminSecret);

    private static StringContent Yaml(string yaml) => new(yaml, Encoding.UTF8, "application/yaml");

    [SkippableTheory]
    [InlineData("alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nrules: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", "line 1")]
    [InlineData("anchor", "rules: &r []\n", "line 1")]
    [InlineData("non-scalar key", "? [a, b]\n: c\n", "line 1")]
    [InlineData("duplicate key", "rules: []\nrules: []\n", "line 2")]
    [InlineData("malformed", "rules: [\n", "line")]
    public async Task Hostile_yaml_is_a_400_saying_where(string what, string yaml, string where)
    {
        var response = await Admin().PutAsync("/api/v1/fim/ruleset?dryRun=true", Yaml(yaml));

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Contains(where, problem.GetProperty("detail").GetString());
        Assert.True(what.Length > 0);
    }

    [SkippableFact]
    public async Task Deeply_nested_yaml_is_400_and_the_api_lives()
    {
        // 120 KB of '[' overflowed the stack and killed the process.
        var response = await Admin().PutAsync("/api/v1/fim/ruleset?dryRun=true", Yaml("rules: " + new string('[', 120_000)));

        var problem = await ProblemAssert.IsProblem(response, 400);
        Assert.Contains("64", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Admin().GetAsync("/api/v1/health")).StatusCode);
    }

    [SkippableFact]
    public async Task Yaml_converted_past_the_body_limit_is_413()
    {
        // 1 MiB limit (default): two bytes of YAML per item become four of JSON.
        var yaml = "rules: [" + string.Join(",", Enumerable.Repeat("a", 400_000)) + "]";

        var response = await Admin().PutAsync("/api/v1/fim/ruleset?dryRun=true", Yaml(yaml));

        await ProblemAssert.IsProblem(response, 413);
    }
}

public sealed class YamlBodyTestsOnSqlite(SqliteApi api) : YamlBodyTests(api), IClassFixture<SqliteApi>;

public sealed class YamlBodyTestsOnPostgres(PostgresApi api) : YamlBodyTests(api), IClassFixture<PostgresApi>;

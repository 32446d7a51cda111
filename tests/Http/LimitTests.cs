using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>Body size limits are Kestrel's: TestServer ignores them, so this fixture runs the api on real Kestrel.</summary>
public abstract class KestrelLimitTests(PlatformApi api)
{
    public const long BodyLimit = 4096;

    [SkippableFact]
    public async Task Oversized_body_is_413_from_real_kestrel()
    {
        var http = api.Http(api.AdminSecret);
        Assert.NotEqual(80, http.BaseAddress!.Port); // a real socket, not TestServer

        var name = new string('a', (int)BodyLimit);
        var response = await http.PostAsync("/api/v1/tokens", new StringContent($$"""{"name":"{{name}}","role":"analyst"}""", Encoding.UTF8, "application/json"));

        var problem = await ProblemAssert.IsProblem(response, 413);
        Assert.Contains(BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString());
    }

    [SkippableFact]
    public async Task A_compressed_body_is_held_to_the_limit_once_decompressed()
    {
        var http = api.Http(api.AdminSecret);
        // A few dozen bytes on the wire, four times the limit decompressed.
        var bomb = Telemetry.TelemetryIngestTests.Gzip($$"""{"name":"{{new string('a', 4 * (int)BodyLimit)}}","role":"analyst"}""");
        Assert.True(await bomb.ReadAsByteArrayAsync() is { Length: < (int)BodyLimit });

        var response = await http.PostAsync("/api/v1/tokens", bomb);

        await ProblemAssert.IsProblem(response, 413);
    }

    [SkippableFact]
    public async Task Body_under_the_limit_is_accepted()
    {
        var created = await api.Admin().CreateTokenAsync(new TokenCreate { Name = new string('a', 100), Role = Role.Analyst });
        Assert.Equal(100, created.Token.Name.Length);
    }
}

public class KestrelSqliteApi : SqliteApi
{
    public KestrelSqliteApi() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings =>
        new Dictionary<string, string?> { ["Platform:Limits:MaxRequestBodyBytes"] = KestrelLimitTests.BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

public class KestrelPostgresApi : PostgresApi
{
    public KestrelPostgresApi() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings =>
        new Dictionary<string, string?> { ["Platform:Limits:MaxRequestBodyBytes"] = KestrelLimitTests.BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

public sealed class KestrelLimitTestsOnSqlite(KestrelSqliteApi api) : KestrelLimitTests(api), IClassFixture<KestrelSqliteApi>;

public sealed class KestrelLimitTestsOnPostgres(KestrelPostgresApi api) : KestrelLimitTests(api), IClassFixture<KestrelPostgresApi>;

/// <summary>A tiny budget, so the limit is reached in a few requests.</summary>
public abstract class RateLimitTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Token_over_its_budget_gets_429_with_retry_after_and_other_tokens_do_not()
    {
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);
        for (var i = 0; i < 5; i++)
            await analyst.ListAgentsAsync();

        var problem = await ProblemAssert.Refused(429, () => analyst.ListAgentsAsync());
        Assert.Contains("5 requests a minute", problem.Detail);

        var response = await api.Http(api.AdminSecret).GetAsync("/api/v1/agents");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [SkippableFact]
    public async Task Retry_after_says_how_long_to_wait()
    {
        var (_, token) = await api.ClientWithRole(Role.Analyst);
        var http = api.Http(token.Secret);
        HttpResponseMessage response;
        do
            response = await http.GetAsync("/api/v1/agents");
        while (response.StatusCode == HttpStatusCode.OK);

        await ProblemAssert.IsProblem(response, 429);
        var seconds = response.Headers.RetryAfter?.Delta?.TotalSeconds;
        Assert.InRange(seconds ?? 0, 1, 60);
    }
}

public class RateLimitedSqliteApi : SqliteApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:RateLimit:PermitsPerMinute"] = "5" };
}

public class RateLimitedPostgresApi : PostgresApi
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:RateLimit:PermitsPerMinute"] = "5" };
}

public sealed class RateLimitTestsOnSqlite(RateLimitedSqliteApi api) : RateLimitTests(api), IClassFixture<RateLimitedSqliteApi>;

public sealed class RateLimitTestsOnPostgres(RateLimitedPostgresApi api) : RateLimitTests(api), IClassFixture<RateLimitedPostgresApi>;

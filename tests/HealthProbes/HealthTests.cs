using System.Net;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.HealthProbes;

public abstract class HealthTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Health_and_readiness_answer_without_a_token()
    {
        var anonymous = api.Client(null);

        var health = await anonymous.GetHealthAsync();
        var readiness = await anonymous.GetReadinessAsync();

        Assert.Equal(HealthStatus.Ok, health.Status);
        Assert.Equal(ReadinessStatus.Ready, readiness.Status);
        Assert.Equal(api.ProviderName, readiness.Checks.Single().Detail);
    }

    [SkippableFact]
    public async Task Times_are_utc_rfc3339()
    {
        var body = await api.Http().GetStringAsync("/api/v1/health");
        var time = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("time").GetString()!;
        Assert.EndsWith("Z", time);
        Assert.True(DateTimeOffset.TryParse(time, out _));
    }
}

public sealed class HealthTestsOnSqlite(SqliteApi api) : HealthTests(api), IClassFixture<SqliteApi>;

public sealed class HealthTestsOnPostgres(PostgresApi api) : HealthTests(api), IClassFixture<PostgresApi>;

public sealed class ReadinessTests(BrokenSqliteForReadiness api) : IClassFixture<BrokenSqliteForReadiness>
{
    [Fact]
    public async Task Readiness_is_503_with_retry_after_when_the_store_is_not_usable()
    {
        var http = api.Http();
        await using (var write = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Platform.Api.Storage.Database>(api.Services).BeginWriteAsync(CancellationToken.None))
        await using (var drop = write.Db.CreateCommand())
        {
            drop.CommandText = "drop table audit_entry";
            drop.Transaction = write.Transaction;
            await drop.ExecuteNonQueryAsync();
            await write.CommitAsync(CancellationToken.None);
        }

        var response = await http.GetAsync("/api/v1/health/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("unavailable", await response.Content.ReadAsStringAsync());
    }
}

public class BrokenSqliteForReadiness : SqliteApi;

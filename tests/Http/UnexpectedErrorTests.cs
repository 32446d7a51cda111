using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Http;

/// <summary>An unexpected failure (here: the store lost a table) is a 500 problem with a trace id and no internals.</summary>
public abstract class UnexpectedErrorTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Unexpected_error_is_a_500_problem_without_stack_trace_outside_development()
    {
        var http = api.Http(api.AdminSecret);
        await using (var write = await api.Services.GetRequiredService<Database>().BeginWriteAsync(CancellationToken.None))
        {
            await write.Db.ExecuteAsync("drop table agent", transaction: write.Transaction);
            await write.CommitAsync(CancellationToken.None);
        }

        var response = await http.GetAsync("/api/v1/agents");

        var problem = await ProblemAssert.IsProblem(response, 500);
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(problem.TryGetProperty("detail", out _), body);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("agent", body.Replace("/api/v1/agents", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
    }
}

// Own fixtures: this test breaks the database.
public class BrokenSqliteApi : SqliteApi;

public class BrokenPostgresApi : PostgresApi;

public sealed class UnexpectedErrorTestsOnSqlite(BrokenSqliteApi api) : UnexpectedErrorTests(api), IClassFixture<BrokenSqliteApi>;

public sealed class UnexpectedErrorTestsOnPostgres(BrokenPostgresApi api) : UnexpectedErrorTests(api), IClassFixture<BrokenPostgresApi>;

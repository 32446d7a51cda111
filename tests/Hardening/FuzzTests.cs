using Platform.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.Tests.Hardening;

/// <summary>
/// Thousands of malformed requests, generated from openapi.yaml, over every operation of the api as it is deployed
/// (its own process), on each store. See <see cref="FuzzRun"/> for what is sent and what is checked.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuzzTests(ITestOutputHelper output)
{
    [Fact]
    public Task Malformed_requests_over_every_operation_on_SQLite_get_4xx_problems_and_leave_the_api_healthy() =>
        FuzzRun.RunAsync(FuzzStore.Sqlite, output);

    [SkippableFact]
    public async Task Malformed_requests_over_every_operation_on_PostgreSQL_get_4xx_problems_and_leave_the_api_healthy()
    {
        if (PostgresCluster.Problem is { } problem)
        {
            if (PostgresCluster.InCi)
                throw new InvalidOperationException("CI is set but PostgreSQL could not start: " + problem);
            Skip.If(true, "PostgreSQL is not available here: " + problem);
        }

        await FuzzRun.RunAsync(FuzzStore.Postgres, output);
    }
}

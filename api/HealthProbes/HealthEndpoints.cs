using System.Reflection;
using Platform.Api.Generated;

namespace Platform.Api.HealthProbes;

public sealed class HealthEndpoints(Database database, TimeProvider time, ILogger<HealthEndpoints> logger) : HealthHandlersBase
{
    private static readonly string Version =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public override Task<Results<Ok<Health>, ProblemHttpResult>> GetHealth(HttpContext http, CancellationToken cancellationToken) =>
        Task.FromResult<Results<Ok<Platform.Contracts.Health>, ProblemHttpResult>>(TypedResults.Ok(new Platform.Contracts.Health { Status = HealthStatus.Ok, Version = Version, Time = time.GetUtcNow() }));

    public override async Task<Results<Ok<Readiness>, ProblemHttpResult, JsonHttpResult<Readiness>>> GetReadiness(HttpContext http, CancellationToken cancellationToken)
    {
        var storage = new ReadinessCheck { Name = "storage", Status = ReadinessStatus.Ready, Detail = database.Provider.ToString().ToLowerInvariant() };
        try
        {
            await using var db = await database.OpenAsync(cancellationToken);
            // The last table of the first migration: present only once the schema is in place.
            await db.ExecuteScalarAsync<int>(new CommandDefinition("select count(*) from (select 1 from audit_entry limit 1) t", cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            logger.LogWarning(ex, "Readiness check failed");
            storage.Status = ReadinessStatus.Unavailable;
            storage.Detail = "the database could not be reached or is not migrated";
            http.Response.Headers.RetryAfter = "5";
            return TypedResults.Json(new Readiness { Status = ReadinessStatus.Unavailable, Checks = [storage] }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new Readiness { Status = ReadinessStatus.Ready, Checks = [storage] });
    }
}

using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Fim;

/// <summary>
/// A freshly started api (its own process: static state is the process's) whose first FIM request is an alert push:
/// it was a 500 then and on every push after, until a restart (a type initializer asked a serializer options
/// instance without a resolver for its metadata, which only worked once a rule had been serialised).
/// </summary>
public abstract class FimColdStartTests : IAsyncLifetime
{
    private readonly string _data = Directory.CreateTempSubdirectory("fim-cold-").FullName;
    private readonly string _admin = "plt_cold-" + Guid.NewGuid().ToString("N");
    private ApiProcess? _api;

    /// <summary>The storage settings, as environment variables; null: this provider cannot run here (skipped).</summary>
    protected abstract IReadOnlyDictionary<string, string?>? Storage();

    public async Task InitializeAsync()
    {
        if (Storage() is not { } storage)
            return;
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        _api = await ApiProcess.StartAsync(_data, _admin, configuration, storage);
    }

    public async Task DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [SkippableFact]
    public async Task A_fim_alert_pushed_before_any_rule_was_handled_is_answered_and_the_next_ones_are_stored()
    {
        Skip.If(_api is null, "PostgreSQL is not available here: " + PostgresCluster.Problem);
        var admin = new PlatformClient(_api!.Http(_admin));
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "cold" });
        var enrolled = await new PlatformClient(_api.Http(enrollment.Secret)).EnrollAgentAsync(new AgentEnroll { Hostname = "cold-01", Os = "linux", AgentVersion = "1.0.0" });
        var agent = new PlatformClient(_api.Http(enrolled.Secret));
        FimAlertBatch Batch(string id, string path, string ruleId = "fim_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee") => new()
        {
            Alerts =
            [
                new FimAlertReport
                {
                    Id = id, Time = DateTimeOffset.UtcNow, RuleId = ruleId, RuleVersion = 1, Path = path,
                    Action = FimOperation.Write, Effect = FimAlertEffect.Alerted, Attribution = FimAttribution.Unavailable, AttributionReason = "cold start",
                },
            ],
        };

        // The first push of the process, under a rule that does not exist: a problem, not a failure of the feature.
        var refused = await ProblemAssert.Refused(422, () => agent.PushFimAlertsAsync(Batch("cold-0", "/etc/passwd"), enrolled.Agent.Id));
        Assert.Contains("alerts[0].ruleVersion", refused.Errors!.Keys);
        var rule = await admin.CreateFimRuleAsync(FimRules.Everywhere("cold", "cold-01"));
        var first = await agent.PushFimAlertsAsync(Batch("cold-1", "/etc/passwd", rule.Id), enrolled.Agent.Id);
        var second = await agent.PushFimAlertsAsync(Batch("cold-2", "/etc/shadow", rule.Id), enrolled.Agent.Id);

        Assert.Equal((1, 1), (first.Stored, second.Stored));
        Assert.Equal(2, (await admin.ListFimAlertsAsync(agentId: enrolled.Agent.Id)).Items.Count);
    }
}

public sealed class FimColdStartTestsOnSqlite : FimColdStartTests
{
    protected override IReadOnlyDictionary<string, string?>? Storage() => new Dictionary<string, string?>();
}

public sealed class FimColdStartTestsOnPostgres : FimColdStartTests
{
    protected override IReadOnlyDictionary<string, string?>? Storage()
    {
        if (PostgresCluster.Problem is { } problem)
        {
            // In CI the PostgreSQL run must happen: a missing server is a failure, not a skip.
            if (PostgresCluster.InCi)
                throw new InvalidOperationException("CI is set but PostgreSQL could not start: " + problem);
            return null;
        }

        return new Dictionary<string, string?>
        {
            ["Platform__Storage__Provider"] = "Postgres",
            ["Platform__Storage__ConnectionString"] = PostgresCluster.CreateDatabase(),
        };
    }
}

using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Enforcement;

/// <summary>
/// An alert of a prevent rule that could not be refused says why (<c>effectReason</c>, e.g. a filesystem without inode
/// attributes): kept with the alert, in its description, bounded.
/// </summary>
public abstract class EffectReasonAlertTests(PlatformApi api)
{
    private async Task<(PlatformClient Agent, string AgentId, FimRule Rule)> Scenario()
    {
        var hostname = FimRules.Unique("ramfs-host");
        var spec = FimRules.PrivateKey(FimRules.Unique("ramfs-key"));
        spec.Scope = new FimScope { Hostnames = [hostname] };
        spec.Paths = [new FimPath { Path = "/mnt/ram/**" }];
        var rule = await api.Admin().CreateFimRuleAsync(spec);
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        return (agent, enrolled.Agent.Id, rule);
    }

    private FimAlertReport Report(FimRule rule, string id, string? effectReason) => new()
    {
        Id = id,
        Time = api.Time.GetUtcNow().AddSeconds(-1),
        RuleId = rule.Id,
        RuleVersion = rule.Version,
        Path = "/mnt/ram/server.key",
        Action = FimOperation.Write,
        Effect = FimAlertEffect.PreventUnsupported,
        Attribution = FimAttribution.Available,
        Process = new FimProcess { Pid = 4242, Name = "sh", User = "nobody", Uid = 65534 },
        EffectReason = effectReason,
    };

    [SkippableFact]
    public async Task The_reason_a_prevent_rule_could_not_refuse_is_kept_and_told()
    {
        var (agent, agentId, rule) = await Scenario();

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "u-1", "ramfs has no immutable attribute")] }, agentId);

        var alert = Assert.Single((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items);
        Assert.Equal((FimAlertEffect.PreventUnsupported, "ramfs has no immutable attribute"), (alert.Effect, alert.EffectReason));
        Assert.EndsWith("; the rule says prevent, but this host could not block it: ramfs has no immutable attribute", alert.Description, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task An_alert_without_a_reason_reads_as_before()
    {
        var (agent, agentId, rule) = await Scenario();

        await agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "u-2", null)] }, agentId);

        var alert = Assert.Single((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items);
        Assert.Null(alert.EffectReason);
        Assert.EndsWith("; the rule says prevent, but this host could not block it", alert.Description, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_reason_longer_than_500_characters_is_refused_naming_the_field()
    {
        var (agent, agentId, rule) = await Scenario();

        var errors = await ProblemAssert.FieldErrors(() => agent.PushFimAlertsAsync(new FimAlertBatch { Alerts = [Report(rule, "u-3", new string('x', 501))] }, agentId));

        Assert.Contains("alerts[0].effectReason", errors.Keys);
        Assert.Empty((await api.Admin().ListFimAlertsAsync(ruleId: rule.Id)).Items);
    }
}

public sealed class EffectReasonAlertTestsOnSqlite(SqliteApi api) : EffectReasonAlertTests(api), IClassFixture<SqliteApi>;

public sealed class EffectReasonAlertTestsOnPostgres(PostgresApi api) : EffectReasonAlertTests(api), IClassFixture<PostgresApi>;

using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Cli;

/// <summary><c>platformctl fim unlock RULE --minutes N --reason TEXT</c> and <c>fim lock RULE</c>, by rule name, as a deployment pipeline runs them.</summary>
public sealed class FimUnlockCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task A_pipeline_unlocks_a_rule_by_name_for_its_deployment_and_locks_it_again()
    {
        var name = FimRules.Unique("tls-key");
        var rule = await api.Admin().CreateFimRuleAsync(FimRules.PrivateKey(name));
        var (_, operatorToken) = await api.ClientWithRole(Role.Operator);
        using var cli = new PlatformCtlRunner(api, operatorToken.Secret);

        var unlocked = await cli.RunAsync("fim", "unlock", name, "--minutes", "10", "--reason", "CHG-4711 rotate the key");
        Assert.True(unlocked.ExitCode == 0, unlocked.ToString());
        Assert.Contains($"unlocked {rule.Id} until ", unlocked.Out, StringComparison.Ordinal);
        Assert.Equal("CHG-4711 rotate the key", (await api.Admin().GetFimRuleAsync(rule.Id)).Unlock?.Reason);

        var shown = await cli.RunAsync("fim", "rules", "get", name);
        Assert.Contains("CHG-4711 rotate the key", shown.Out, StringComparison.Ordinal);

        var locked = await cli.RunAsync("fim", "lock", name);
        Assert.True(locked.ExitCode == 0, locked.ToString());
        Assert.Null((await api.Admin().GetFimRuleAsync(rule.Id)).Unlock);
    }

    [Fact]
    public async Task Unlock_needs_minutes_and_a_reason_and_says_what_the_api_refused()
    {
        var name = FimRules.Unique("tls-key");
        await api.Admin().CreateFimRuleAsync(FimRules.PrivateKey(name));
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);

        var noReason = await cli.RunAsync("fim", "unlock", name, "--minutes", "10");
        Assert.NotEqual(0, noReason.ExitCode);
        Assert.Contains("--reason", noReason.Error, StringComparison.Ordinal);

        var tooLong = await cli.RunAsync("fim", "unlock", name, "--minutes", "100000", "--reason", "deploy");
        Assert.NotEqual(0, tooLong.ExitCode);
        Assert.Contains("minutes", tooLong.Error, StringComparison.Ordinal);
        Assert.Null((await api.Admin().GetFimRuleAsync((await api.Admin().ListFimRulesAsync()).Items.Single(r => r.Name == name).Id)).Unlock);
    }
}

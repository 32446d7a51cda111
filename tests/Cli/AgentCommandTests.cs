using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Cli;

/// <summary><c>agents list</c> against the API: the enrollment order, or with <c>--sort lastHeartbeat</c> the silent first.</summary>
public sealed class AgentCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Agents_list_puts_the_silent_first_with_sort_last_heartbeat()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var prefix = "sorthb" + Guid.NewGuid().ToString("N")[..6];
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (agent, enrolled) = await api.EnrolledAgent($"{prefix}-{i}");
            ids.Add(enrolled.Agent.Id);
            if (i == 0)
                await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id);
        }

        var enrolledOrder = Listed(await cli.RunAsync("-o", "json", "agents", "list", "--host", prefix));
        Assert.Equal(ids, enrolledOrder.Select(a => a.Id));
        var silentFirst = Listed(await cli.RunAsync("-o", "json", "agents", "list", "--host", prefix, "--sort", "lastHeartbeat"));
        Assert.Equal([ids[1], ids[2], ids[0]], silentFirst.Select(a => a.Id));
        Assert.NotNull(silentFirst[^1].LastHeartbeatAt);

        var bad = await cli.RunAsync("agents", "list", "--sort", "silent");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("lastHeartbeat", bad.Error);
    }

    [Fact]
    public async Task Agents_decommission_retires_the_agent_by_host_name_and_its_credential_stops_working()
    {
        var hostname = "decom" + Guid.NewGuid().ToString("N")[..6];
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);

        var run = await cli.RunAsync("agents", "decommission", hostname);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"{enrolled.Agent.Id} ({hostname}) is decommissioned", run.Out, StringComparison.Ordinal);
        Assert.Equal(AgentState.Decommissioned, (await api.Admin().GetAgentAsync(enrolled.Agent.Id)).State);
        await ProblemAssert.Refused(401, () => agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id));
        var shown = await cli.RunAsync("agents", "get", enrolled.Agent.Id);
        Assert.Contains("state:", shown.Out, StringComparison.Ordinal);
        Assert.Contains("decommissioned", shown.Out, StringComparison.Ordinal);

        using var analyst = new PlatformCtlRunner(api, (await api.ClientWithRole(Role.Analyst)).Token.Secret);
        var refused = await analyst.RunAsync("agents", "decommission", enrolled.Agent.Id);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("403", refused.Error, StringComparison.Ordinal);
    }

    private static List<Contracts.Agent> Listed(CliRun run) => CliPages.Items<Contracts.Agent>(run);
}

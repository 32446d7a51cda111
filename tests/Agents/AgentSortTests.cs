using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Http.CursorTests;

namespace Platform.Tests.Agents;

/// <summary>
/// listAgents' orders: enrollment (the default) and the silent first (never heard from, then the oldest heartbeat), each
/// paged by its own cursor without repeats or gaps where heartbeats came at the same time. Each test lists only the hosts
/// it enrolled, by their host name prefix.
/// </summary>
public abstract class AgentSortTests(PlatformApi api)
{
    /// <summary>
    /// Six agents: two never heard from, two that sent a heartbeat at the same moment, one earlier and one later. Returned in
    /// enrollment order.
    /// </summary>
    private async Task<(string Prefix, List<Contracts.Agent> Agents)> SixAgentsAsync()
    {
        var prefix = "hb" + Guid.NewGuid().ToString("N")[..8];
        var clients = new List<(PlatformClient Client, string Id)>();
        for (var i = 0; i < 6; i++)
        {
            var (client, enrolled) = await api.EnrolledAgent($"{prefix}-{i}");
            clients.Add((client, enrolled.Agent.Id));
        }

        async Task Heartbeat(int i) => await clients[i].Client.RecordAgentHeartbeatAsync(new AgentHeartbeat(), clients[i].Id);
        await Heartbeat(4);
        api.Time.Advance(TimeSpan.FromSeconds(10));
        await Heartbeat(1);
        await Heartbeat(3); // the same moment as 1
        api.Time.Advance(TimeSpan.FromSeconds(10));
        await Heartbeat(2);
        // 0 and 5 never sent one.
        var agents = (await AllPagesAsync(AgentSort.Enrolled, 200, prefix)).ToList();
        Assert.Equal(clients.Select(c => c.Id), agents.Select(a => a.Id));
        return (prefix, agents);
    }

    private Task<List<Contracts.Agent>> AllPagesAsync(AgentSort? sort, int limit, string prefix) =>
        AllPages.ReadAsync<Contracts.Agent>(limit, async cursor => await api.Admin().ListAgentsAsync(limit, cursor, prefix, sort));

    [SkippableFact]
    public async Task Last_heartbeat_puts_the_never_heard_first_then_the_oldest_heartbeat_across_pages()
    {
        var (prefix, agents) = await SixAgentsAsync();
        Assert.Null(agents[0].LastHeartbeatAt);
        Assert.NotNull(agents[0].LastSeenAt); // enrollment: seen, but never heard from
        Assert.Equal(agents[1].LastHeartbeatAt, agents[3].LastHeartbeatAt);

        var expected = agents.OrderBy(a => a.LastHeartbeatAt.HasValue).ThenBy(a => a.LastHeartbeatAt).ThenBy(a => a.Id, StringComparer.Ordinal).Select(a => a.Id).ToList();
        Assert.Equal(new[] { 0, 5, 4 }.Select(i => agents[i].Id), expected.Take(3));
        foreach (var limit in new[] { 1, 2, 3, 4, 200 })
        {
            var listed = await AllPagesAsync(AgentSort.LastHeartbeat, limit, prefix);
            Assert.True(expected.SequenceEqual(listed.Select(a => a.Id)), $"limit {limit}: {string.Join(", ", listed.Select(a => $"{a.Hostname} {a.LastHeartbeatAt:O}"))}");
        }

        // Without sort: enrollment order, as before.
        Assert.Equal(agents.Select(a => a.Id), (await AllPagesAsync(null, 2, prefix)).Select(a => a.Id));
    }

    [SkippableFact]
    public async Task A_cursor_of_one_agent_order_is_refused_by_the_other_and_a_bad_sort_is_400()
    {
        var (prefix, _) = await SixAgentsAsync();
        var admin = api.Admin();
        var byHeartbeat = (await admin.ListAgentsAsync(2, null, prefix, AgentSort.LastHeartbeat)).NextCursor!;
        var byEnrollment = (await admin.ListAgentsAsync(2, null, prefix, AgentSort.Enrolled)).NextCursor!;
        // Past the never-heard-from, into the heartbeats: a cursor holding a time.
        var intoHeard = (await admin.ListAgentsAsync(3, null, prefix, AgentSort.LastHeartbeat)).NextCursor!;

        using var http = api.Http(api.AdminSecret);
        Assert.Equal(200, (int)(await http.GetAsync($"/api/v1/agents?hostname={prefix}&sort=lastHeartbeat&cursor={intoHeard}")).StatusCode);
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/agents?sort=lastHeartbeat&cursor={byEnrollment}"));
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/agents?cursor={byHeartbeat}"));
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/agents?sort=enrolled&cursor={intoHeard}"));
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/incidents?cursor={byHeartbeat}"));
        var flipped = intoHeard[..8] + (intoHeard[8] == 'A' ? 'B' : 'A') + intoHeard[9..];
        await AssertInvalidCursor(await http.GetAsync($"/api/v1/agents?sort=lastHeartbeat&cursor={flipped}"));

        var problem = await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/agents?sort=heartbeat"), 400);
        Assert.Contains("sort", problem.ToString(), StringComparison.Ordinal);
        await ProblemAssert.IsProblem(await http.GetAsync("/api/v1/agents?sort=lastHeartbeat&limit=201"), 400);
    }
}

public sealed class AgentSortTestsOnSqlite(SqliteApi api) : AgentSortTests(api), IClassFixture<SqliteApi>;

public sealed class AgentSortTestsOnPostgres(PostgresApi api) : AgentSortTests(api), IClassFixture<PostgresApi>;

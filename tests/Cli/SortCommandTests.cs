using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Cli;

/// <summary><c>--sort</c> on <c>incidents list</c> and <c>agents list</c>: the API's orders, passed through; JSON output as before.</summary>
public sealed class SortCommandTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    private static List<T> Json<T>(CliRun run)
    {
        Assert.True(run.ExitCode == 0, run.ToString());
        return JsonSerializer.Deserialize<List<T>>(run.Out, PlatformClient.SerializerOptions)!;
    }

    [Fact]
    public async Task Incidents_list_takes_each_sort_and_follows_its_pages()
    {
        using var cli = new PlatformCtlRunner(api, api.AdminSecret);
        var host = "sort-" + Guid.NewGuid().ToString("N")[..10];
        var s = await StartAsync(api, host);
        for (var i = 0; i < 3; i++)
            await s.PushAsync(s.Start(T0.AddSeconds(i), 4230 + i, 4101, "sh", "java", ["sh"], new ContainerRef { Id = $"50c7{i:x2}00000000" }, "/bin/sh"));
        var incidents = await s.IncidentsAsync();
        Assert.Equal(3, incidents.Count);
        var newestFirst = incidents.OrderByDescending(i => i.LastSeen).Select(i => i.Id).ToList();

        // Pages of 200 from the API, but a --limit of 2 shows two: the first two of the order asked for.
        var newest = Json<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort", "-lastSeen"));
        Assert.Equal(newestFirst, newest.Select(i => i.Id));
        var oldest = Json<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort", "lastSeen", "--limit", "2"));
        Assert.Equal(newestFirst.AsEnumerable().Reverse().Take(2), oldest.Select(i => i.Id));
        var severe = Json<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host, "--sort=-severity", "--all"));
        Assert.Equal(3, severe.Count);

        // Without --sort: the change order, as before.
        await api.Admin().AddIncidentNoteAsync(new IncidentNoteSpec { Text = "moved to the end" }, newestFirst[^1]);
        var changed = Json<Incident>(await cli.RunAsync("-o", "json", "incidents", "list", "--host", host));
        Assert.Equal(newestFirst[^1], changed[^1].Id);

        var table = await cli.RunAsync("incidents", "list", "--host", host, "--sort=-lastSeen");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.True(table.Out.IndexOf(newestFirst[0], StringComparison.Ordinal) < table.Out.IndexOf(newestFirst[^1], StringComparison.Ordinal), table.Out);

        var bad = await cli.RunAsync("incidents", "list", "--sort", "newest");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("-lastSeen", bad.Error);
    }

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

        var enrolledOrder = Json<Contracts.Agent>(await cli.RunAsync("-o", "json", "agents", "list", "--host", prefix));
        Assert.Equal(ids, enrolledOrder.Select(a => a.Id));
        var silentFirst = Json<Contracts.Agent>(await cli.RunAsync("-o", "json", "agents", "list", "--host", prefix, "--sort", "lastHeartbeat"));
        Assert.Equal([ids[1], ids[2], ids[0]], silentFirst.Select(a => a.Id));
        Assert.NotNull(silentFirst[^1].LastHeartbeatAt);

        var bad = await cli.RunAsync("agents", "list", "--sort", "silent");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("lastHeartbeat", bad.Error);
    }
}

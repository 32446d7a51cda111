using System.Net;
using System.Net.Http.Headers;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Forensics;

public abstract class ForensicViewTests(PlatformApi api)
{
    /// <summary>1,200 events in three batches (every other one in the container), then the attack's last steps.</summary>
    private async Task<string> RecordedHost(string hostname, ContainerRef container) =>
        (await Telemetry.TelemetryEvents.RecordedHost(api, hostname, container, batches: 3, perBatch: 400)).AgentId;

    [SkippableFact]
    public async Task The_host_view_is_its_500_most_recent_events_oldest_first()
    {
        var id = await RecordedHost("view-01", new ContainerRef { Id = "c-view-01", Name = "web-view-01" });

        var view = await api.Admin().GetHostForensicViewAsync(id);
        var ten = await api.Admin().GetHostForensicViewAsync(id, limit: 10);

        Assert.Equal(500, view.Events.Count);
        Assert.True(view.OlderEventsExist);
        Assert.Equal(("view-01", null), (view.Hostname, view.ContainerId));
        Assert.Equal(view.Events.OrderBy(e => e.Time).Select(e => e.Id), view.Events.Select(e => e.Id));
        Assert.Equal(["shell", "exfil"], view.Events.TakeLast(2).Select(e => e.Id));
        // The newest 498 reads are those of the last batch (400) and the last 98 of the one before.
        Assert.Equal("view-01-1-302", view.Events[0].Id);
        Assert.Equal(view.Events.TakeLast(10).Select(e => e.Id), ten.Events.Select(e => e.Id));
    }

    [SkippableFact]
    public async Task The_container_view_holds_only_the_containers_events()
    {
        var container = new ContainerRef { Id = "c-view-02", Name = "web-view-02" };
        var id = await RecordedHost("view-02", container);

        var view = await api.Admin().GetContainerForensicViewAsync(id, container.Id);

        Assert.Equal(500, view.Events.Count);
        Assert.True(view.OlderEventsExist);
        Assert.All(view.Events, e => Assert.Equal(container.Id, e.Container!.Id));
        Assert.Equal(("view-02", container.Id), (view.Hostname, view.ContainerId));
        await ProblemAssert.Refused(404, () => api.Admin().GetContainerForensicViewAsync(id, "never-seen"));
    }

    [SkippableFact]
    public async Task A_small_history_is_shown_whole()
    {
        var (agent, enrolled) = await api.EnrolledAgent("view-03");
        await agent.PushTelemetryAsync(Batch(1, Dns("d", T0), ShellFromJava("s", T0.AddSeconds(1))), enrolled.Agent.Id);

        var view = await api.Admin().GetHostForensicViewAsync(enrolled.Agent.Id);

        Assert.Equal(["d", "s"], view.Events.Select(e => e.Id));
        Assert.False(view.OlderEventsExist);
    }

    [SkippableFact]
    public async Task As_text_the_view_is_one_timeline_line_an_event()
    {
        var (agent, enrolled) = await api.EnrolledAgent("view-04");
        var tricky = Read("r", T0.AddSeconds(2), "/tmp/evil\nname", Web);
        await agent.PushTelemetryAsync(Batch(1, ShellFromJava("s", T0.AddSeconds(1)), tricky, Connect("c", T0.AddSeconds(3), Web), Dns("d", T0.AddSeconds(4))), enrolled.Agent.Id);
        var (analyst, token) = await api.ClientWithRole(Role.Analyst);
        var http = api.Http(token.Secret);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/agents/{enrolled.Agent.Id}/forensics/recent");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));

        using var response = await http.SendAsync(request);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
        [
            "2026-11-22T10:00:01.000Z view-04 [web-7f9c] java(1234) -> sh(1240): cp /etc/passwd /tmp/p (user app)",
            "2026-11-22T10:00:02.000Z view-04 [web-7f9c] cp(1241) read /tmp/evil\\nname",
            "2026-11-22T10:00:03.000Z view-04 [web-7f9c] curl(1250) connect tcp 10.0.3.7:41234 -> 203.0.113.9:443",
            "2026-11-22T10:00:04.000Z view-04 curl(1250) dns exfil.example.net -> 203.0.113.9",
        ], lines);
        Assert.Equal(4, (await analyst.GetHostForensicViewAsync(enrolled.Agent.Id)).Events.Count);
    }
}

public sealed class ForensicViewTestsOnSqlite(SqliteApi api) : ForensicViewTests(api), IClassFixture<SqliteApi>;

public sealed class ForensicViewTestsOnPostgres(PostgresApi api) : ForensicViewTests(api), IClassFixture<PostgresApi>;

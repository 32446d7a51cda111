using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Incidents.IncidentScenario;

namespace Platform.Tests.Forensics;

/// <summary>
/// Evidence is owned: a container is (agent, container id). An agent that pushes events carrying another agent's
/// container id writes into a container of its own, never into the other's view, bundle, risk or incidents.
/// </summary>
public abstract class ContainerOwnershipTests(PlatformApi api)
{
    /// <summary>
    /// The victim records the seed compromise in its container (an exfiltration incident); the planter then pushes
    /// events with the same container id: in the incident's window (a connection to a Vault, a read of /etc/shadow,
    /// a shell from java of its own) and later ones, so that its host is the container's most recent.
    /// </summary>
    private async Task<Planted> PlantedAsync()
    {
        var container = new ContainerRef { Id = "c" + Guid.NewGuid().ToString("N")[..12], Name = "struts2-web", Image = "struts2-showcase:2.3.12" };
        var victim = await StartAsync(api, "victim-" + Guid.NewGuid().ToString("N")[..6]);
        var planter = await StartAsync(api, "planter-" + Guid.NewGuid().ToString("N")[..6]);
        await victim.PushAsync([.. victim.Struts2Compromise(T0).Select(e => In(e, container))]);
        await victim.Agent.ReplaceInventoryAsync(new InventoryReport
        {
            Containers = [new ContainerInventory { Id = container.Id, Name = container.Name, Image = container.Image }],
            Images = [new ImageInventory { Name = container.Image! }],
        }, victim.AgentId);

        var planted = new TelemetryEvent[]
        {
            planter.Start(T0.AddSeconds(1), 5230, 5101, "sh", "java", ["sh", "-c", "planted"], container, "/bin/sh"),
            planter.File(T0.AddSeconds(1.5), 5230, "cat", "/etc/shadow", FimOperation.Read, container),
            planter.Connect(T0.AddSeconds(2), 5230, "curl", "10.9.9.9", 8200, container),
            planter.Connect(T0.AddMinutes(5), 5230, "curl", "10.9.9.10", 3306, container),
        };
        for (var i = 0; i < planted.Length; i++)
            planted[i].Id = $"planted-{i}"; // the victim's scenario numbers its events the same way: keep them apart
        await planter.PushAsync(planted);
        return new Planted(victim, planter, container, planted.Select(e => e.Id).ToHashSet());
    }

    private sealed record Planted(IncidentScenario Victim, IncidentScenario Planter, ContainerRef Container, HashSet<string> Ids);

    private static TelemetryEvent In(TelemetryEvent e, ContainerRef container)
    {
        e.Container = container;
        return e;
    }

    private static async Task<string> HostnameAsync(PlatformApi api, string agentId) => (await api.Admin().GetAgentAsync(agentId)).Hostname;

    [SkippableFact]
    public async Task Events_planted_with_another_agents_container_id_are_not_in_its_incident_bundle_risk_or_findings()
    {
        var p = await PlantedAsync();
        var victimHost = await HostnameAsync(api, p.Victim.AgentId);
        var incident = Assert.Single(await p.Victim.IncidentsAsync(IncidentCategory.DataExfiltration));

        using var bundle = await api.Http(api.AdminSecret).GetAsync($"/api/v1/incidents/{incident.Id}/bundle");
        Assert.Equal(HttpStatusCode.OK, bundle.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await bundle.Content.ReadAsByteArrayAsync()));
        var events = Lines(zip, "events.jsonl").Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.DoesNotContain(e.GetProperty("id").GetString()!, p.Ids));
        Assert.All(events, e => Assert.Equal(victimHost, e.GetProperty("hostname").GetString()));
        Assert.DoesNotContain(Lines(zip, "timeline.txt"), l => l.Contains("planter-", StringComparison.Ordinal));

        var risk = await api.Admin().GetIncidentRiskAsync(incident.Id);
        Assert.DoesNotContain(risk.Services, s => s.Address is "10.9.9.9" or "10.9.9.10");
        Assert.DoesNotContain(risk.Reasons, r => r.Factor == RiskReasonFactor.SensitiveService);

        foreach (var victimIncident in await p.Victim.IncidentsAsync())
        {
            Assert.Equal((p.Victim.AgentId, victimHost), (victimIncident.Resource.AgentId, victimIncident.Resource.Hostname));
            Assert.All(await p.Victim.FindingsAsync(victimIncident), f => Assert.All(f.Events, e => Assert.DoesNotContain(e.Id, p.Ids)));
        }
    }

    [SkippableFact]
    public async Task The_incidents_forensic_view_is_its_own_agents_container_and_names_its_host()
    {
        var p = await PlantedAsync();
        var victimHost = await HostnameAsync(api, p.Victim.AgentId);
        var incident = Assert.Single(await p.Victim.IncidentsAsync(IncidentCategory.DataExfiltration));

        var view = await api.Http(api.AdminSecret).GetFromJsonAsync<JsonElement>(incident.Links.ForensicView);

        Assert.Equal((p.Victim.AgentId, victimHost, p.Container.Id),
            (view.GetProperty("agentId").GetString(), view.GetProperty("hostname").GetString(), view.GetProperty("containerId").GetString()));
        var ids = view.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()!).ToList();
        Assert.Equal(5, ids.Count);
        Assert.DoesNotContain(ids, p.Ids.Contains);
    }

    [SkippableFact]
    public async Task One_container_id_from_two_agents_is_two_containers_each_naming_its_host()
    {
        var p = await PlantedAsync();
        var (victimHost, planterHost) = (await HostnameAsync(api, p.Victim.AgentId), await HostnameAsync(api, p.Planter.AgentId));
        var (analyst, _) = await api.ClientWithRole(Role.Analyst);

        var victims = await analyst.GetContainerForensicViewAsync(p.Victim.AgentId, p.Container.Id);
        var planters = await analyst.GetContainerForensicViewAsync(p.Planter.AgentId, p.Container.Id);

        Assert.Equal((p.Victim.AgentId, victimHost, p.Container.Id), (victims.AgentId, victims.Hostname, victims.ContainerId));
        Assert.Equal((p.Planter.AgentId, planterHost, p.Container.Id), (planters.AgentId, planters.Hostname, planters.ContainerId));
        Assert.DoesNotContain(victims.Events, e => p.Ids.Contains(e.Id));
        Assert.All(victims.Events, e => Assert.Equal(victimHost, e.Hostname));
        Assert.Equal(p.Ids.Order(), planters.Events.Select(e => e.Id).Order());
        Assert.All(planters.Events, e => Assert.Equal(planterHost, e.Hostname));

        // The flight data of each is its own too.
        var victimEvents = await analyst.ListTelemetryEventsAsync(limit: 200, agentId: p.Victim.AgentId, containerId: p.Container.Id);
        Assert.Equal(5, victimEvents.Items.Count);
        Assert.DoesNotContain(victimEvents.Items, e => p.Ids.Contains(e.Id));

        // Incidents in that container id: one each, each naming its agent and host; the planter's shell from java
        // is the planter's incident, not the victim's.
        var listed = (await analyst.ListIncidentsAsync(limit: 50, containerId: p.Container.Id)).Items;
        Assert.Equal(
            [(p.Planter.AgentId, planterHost), (p.Victim.AgentId, victimHost)],
            listed.Select(i => (i.Resource.AgentId, i.Resource.Hostname)).Distinct().OrderBy(r => r.AgentId == p.Victim.AgentId));
        var plantersShell = Assert.Single(listed, i => i.Resource.AgentId == p.Planter.AgentId && i.Category == IncidentCategory.ShellFromServer);
        Assert.Contains($"/api/v1/agents/{p.Planter.AgentId}/containers/{p.Container.Id}/", plantersShell.Links.ForensicView, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_container_bundle_holds_only_its_own_agents_events()
    {
        var p = await PlantedAsync();
        var victimHost = await HostnameAsync(api, p.Victim.AgentId);
        using var response = await api.Http(api.AdminSecret).GetAsync($"/api/v1/agents/{p.Victim.AgentId}/containers/{p.Container.Id}/forensics/bundle");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));

        var events = Lines(zip, "events.jsonl").Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(5, events.Count);
        Assert.All(events, e => Assert.DoesNotContain(e.GetProperty("id").GetString()!, p.Ids));
        var resource = JsonDocument.Parse(Entry(zip, "manifest.json")).RootElement.GetProperty("resource");
        Assert.Equal(("container", p.Victim.AgentId, victimHost, p.Container.Id),
            (resource.GetProperty("kind").GetString(), resource.GetProperty("agentId").GetString(), resource.GetProperty("hostname").GetString(), resource.GetProperty("containerId").GetString()));
    }

    [SkippableFact]
    public async Task Another_agents_ids_in_a_containers_path_are_404_and_agents_are_refused()
    {
        var p = await PlantedAsync();
        var bystander = await StartAsync(api);
        await bystander.PushAsync(bystander.Dns(T0, 1, "curl", "example.net"));
        var admin = api.Admin();

        // An agent that recorded nothing in that container id, an agent that does not exist, a container the agent never had.
        await ProblemAssert.Refused(404, () => admin.GetContainerForensicViewAsync(bystander.AgentId, p.Container.Id));
        await ProblemAssert.Refused(404, () => admin.GetContainerForensicViewAsync("agt_00000000000000000000000000000000", p.Container.Id));
        await ProblemAssert.Refused(404, () => admin.GetContainerForensicViewAsync(p.Victim.AgentId, "c000000000000"));
        using var http = api.Http(api.AdminSecret);
        foreach (var path in new[]
        {
            $"/api/v1/agents/{bystander.AgentId}/containers/{p.Container.Id}/forensics/bundle",
            $"/api/v1/agents/agt_00000000000000000000000000000000/containers/{p.Container.Id}/forensics/bundle",
        })
        {
            using var response = await http.GetAsync(path);
            await ProblemAssert.IsProblem(response, 404);
        }

        // Forensic views are for people: an agent is refused its own container's and another's alike.
        await ProblemAssert.Refused(403, () => p.Planter.Agent.GetContainerForensicViewAsync(p.Victim.AgentId, p.Container.Id));
        await ProblemAssert.Refused(403, () => p.Planter.Agent.GetContainerForensicViewAsync(p.Planter.AgentId, p.Container.Id));
        // Malformed ids are 400, naming the parameter.
        var malformed = await ProblemAssert.Refused(400, () => admin.GetContainerForensicViewAsync("not-an-agent", p.Container.Id));
        Assert.Contains("'agentId'", malformed.Detail, StringComparison.Ordinal);
        var badContainer = await ProblemAssert.Refused(400, () => admin.GetContainerForensicViewAsync(p.Victim.AgentId, "-x/../y"));
        Assert.Contains("'containerId'", badContainer.Detail, StringComparison.Ordinal);
        // Flight data by container id alone would mix agents: agentId is required.
        using var unowned = await api.Http(api.AdminSecret).GetAsync($"/api/v1/telemetry/events?containerId={p.Container.Id}");
        var problem = await ProblemAssert.IsProblem(unowned, 400);
        Assert.Equal("Query parameter 'agentId' is required.", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("agentId", out _), problem.ToString());
    }

    private static string Entry(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open(), Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string[] Lines(ZipArchive zip, string name) => Entry(zip, name).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

public sealed class ContainerOwnershipTestsOnSqlite(SqliteApi api) : ContainerOwnershipTests(api), IClassFixture<SqliteApi>;

public sealed class ContainerOwnershipTestsOnPostgres(PostgresApi api) : ContainerOwnershipTests(api), IClassFixture<PostgresApi>;

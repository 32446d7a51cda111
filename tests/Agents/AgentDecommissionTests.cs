using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Agents;
using Platform.Api.Auth;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;

namespace Platform.Tests.Agents;

/// <summary>decommissionAgent: the agent's credential stops working everywhere, its evidence stays, it shows as decommissioned.</summary>
public abstract class AgentDecommissionTests(PlatformApi api)
{
    private async Task<string> AdminTokenId() => (await api.Admin().GetCurrentTokenAsync()).Token.Id;

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    [SkippableFact]
    public async Task A_decommissioned_agent_is_refused_on_every_operation_an_agent_may_call_and_its_spool_replayed_is_refused()
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("decom"));
        var agentId = enrolled.Agent.Id;
        var batch = TelemetryEvents.Batch(1, TelemetryEvents.Read("decom-1", api.Time.GetUtcNow().AddMinutes(-1)));
        await agent.PushTelemetryAsync(batch, agentId);
        Assert.Single((await api.Admin().ListTelemetryEventsAsync(agentId)).Items);

        await api.Admin().DecommissionAgentAsync(agentId);

        // Every operation the authorization table gives agents, with the path filled in: each one a 401 saying why.
        var operations = SpecDocument.Load().Operations.Where(o => OperationAccess.Table[o.OperationId].Roles.Contains(Role.Agent)).ToList();
        Assert.True(operations.Count >= 8, $"only {operations.Count} agent operations found");
        using var http = api.Http(enrolled.Secret);
        foreach (var operation in operations)
        {
            var path = operation.Path.Replace("{agentId}", agentId, StringComparison.Ordinal).Replace("{containerId}", "7f9c2ba4e88f", StringComparison.Ordinal);
            if (path.Contains('{', StringComparison.Ordinal))
                Assert.Fail($"{operation.OperationId}: no value for a parameter of {operation.Path}");
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method), path);
            if (operation.Method is "POST" or "PUT")
                request.Content = Json("{}");
            using var response = await http.SendAsync(request);
            var problem = await ProblemAssert.IsProblem(response, 401);
            Assert.Contains("decommissioned", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // The agent's spool sent again, as a restarted agent would: refused, not taken as a duplicate.
        var replay = await http.PostAsync($"/api/v1/agents/{agentId}/telemetry", JsonContent.Create(batch, options: PlatformClient.SerializerOptions));
        await ProblemAssert.IsProblem(replay, 401);
        await ProblemAssert.Refused(401, () => agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), agentId));

        // Its evidence stays, and so does its credential's record, revoked.
        Assert.Single((await api.Admin().ListTelemetryEventsAsync(agentId)).Items);
        Assert.NotNull((await api.Admin().GetTokenAsync(enrolled.TokenId)).RevokedAt);
    }

    [SkippableFact]
    public async Task A_decommissioned_agent_is_listed_as_such_with_who_and_when_and_the_change_is_audited()
    {
        var hostname = FimRules.Unique("decom-list");
        var (_, enrolled) = await api.EnrolledAgent(hostname);
        var before = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        Assert.Equal(AgentState.Active, before.State);
        Assert.Null(before.DecommissionedAt);

        api.Time.Advance(TimeSpan.FromMinutes(1));
        var decommissioned = await api.Admin().DecommissionAgentAsync(enrolled.Agent.Id);
        var adminTokenId = await AdminTokenId();
        Assert.Equal(AgentState.Decommissioned, decommissioned.State);
        Assert.Equal(api.Time.GetUtcNow(), decommissioned.DecommissionedAt!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(adminTokenId, decommissioned.DecommissionedBy);
        Assert.Equal(before.Version + 1, decommissioned.Version);

        var read = await api.Admin().GetAgentAsync(enrolled.Agent.Id);
        var listed = Assert.Single((await api.Admin().ListAgentsAsync(hostname: hostname)).Items);
        foreach (var shown in new[] { read, listed })
            Assert.Equal((AgentState.Decommissioned, decommissioned.DecommissionedAt, adminTokenId), (shown.State, shown.DecommissionedAt, shown.DecommissionedBy));

        var entry = Assert.Single((await api.Admin().ListAuditEntriesAsync(targetId: enrolled.Agent.Id, action: "agent.decommission")).Items);
        Assert.Equal(adminTokenId, entry.ActorTokenId);
    }

    [SkippableFact]
    public async Task Decommissioning_again_answers_the_same_agent_and_changes_nothing()
    {
        var (_, enrolled) = await api.EnrolledAgent(FimRules.Unique("decom-twice"));
        var first = await api.Admin().DecommissionAgentAsync(enrolled.Agent.Id);
        api.Time.Advance(TimeSpan.FromMinutes(5));
        var second = await api.Admin().DecommissionAgentAsync(enrolled.Agent.Id);

        Assert.Equal((first.DecommissionedAt, first.DecommissionedBy, first.Version), (second.DecommissionedAt, second.DecommissionedBy, second.Version));
        Assert.Single((await api.Admin().ListAuditEntriesAsync(targetId: enrolled.Agent.Id, action: "agent.decommission")).Items);
    }

    [SkippableFact]
    public async Task Concurrent_decommissions_make_one_change_and_all_answer_it()
    {
        var (_, enrolled) = await api.EnrolledAgent(FimRules.Unique("decom-race"));
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => api.Admin().DecommissionAgentAsync(enrolled.Agent.Id))));

        Assert.Single(answers.Select(a => (a.DecommissionedAt, a.Version)).Distinct());
        Assert.All(answers, a => Assert.Equal(AgentState.Decommissioned, a.State));
        Assert.Single((await api.Admin().ListAuditEntriesAsync(targetId: enrolled.Agent.Id, action: "agent.decommission")).Items);
    }

    [SkippableFact]
    public async Task Only_admins_decommission_and_an_unknown_agent_is_404()
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("decom-who"));
        foreach (var role in new[] { Role.Operator, Role.Responder, Role.Analyst })
        {
            var (client, _) = await api.ClientWithRole(role);
            await ProblemAssert.Refused(403, () => client.DecommissionAgentAsync(enrolled.Agent.Id));
        }

        await ProblemAssert.Refused(403, () => agent.DecommissionAgentAsync(enrolled.Agent.Id));
        Assert.Equal(AgentState.Active, (await api.Admin().GetAgentAsync(enrolled.Agent.Id)).State);
        await ProblemAssert.Refused(404, () => api.Admin().DecommissionAgentAsync("agt_00000000000000000000000000000000"));
    }

    [SkippableFact]
    public async Task A_decommissioned_agent_is_never_flagged_silent()
    {
        var (agent, enrolled) = await api.EnrolledAgent(FimRules.Unique("decom-silent"));
        await agent.RecordAgentHeartbeatAsync(new AgentHeartbeat(), enrolled.Agent.Id);
        var (control, controlEnrolled) = await api.EnrolledAgent(FimRules.Unique("decom-control"));
        await control.RecordAgentHeartbeatAsync(new AgentHeartbeat(), controlEnrolled.Agent.Id);
        await api.Admin().DecommissionAgentAsync(enrolled.Agent.Id);

        api.Time.Advance(TimeSpan.FromHours(1));
        var silence = api.Services.GetRequiredService<AgentSilence>();
        while (await silence.ScanAsync(CancellationToken.None) > 0)
        {
        }

        Assert.Empty((await api.Admin().ListIncidentsAsync(agentId: enrolled.Agent.Id, category: [IncidentCategory.SensorSilent])).Items);
        // The same silence on an active agent is flagged: the scan ran.
        Assert.Single((await api.Admin().ListIncidentsAsync(agentId: controlEnrolled.Agent.Id, category: [IncidentCategory.SensorSilent])).Items);
    }

    [SkippableFact]
    public async Task The_same_host_enrolled_again_is_a_new_active_agent()
    {
        var hostname = FimRules.Unique("decom-again");
        var (_, old) = await api.EnrolledAgent(hostname);
        await api.Admin().DecommissionAgentAsync(old.Agent.Id);

        var (again, renewed) = await api.EnrolledAgent(hostname);

        Assert.NotEqual(old.Agent.Id, renewed.Agent.Id);
        Assert.Equal(AgentState.Active, renewed.Agent.State);
        await again.RecordAgentHeartbeatAsync(new AgentHeartbeat(), renewed.Agent.Id);
        var listed = (await api.Admin().ListAgentsAsync(hostname: hostname)).Items;
        Assert.Equal([(old.Agent.Id, AgentState.Decommissioned), (renewed.Agent.Id, AgentState.Active)], listed.Select(a => (a.Id, a.State)).Order().ToList());
    }
}

public sealed class AgentDecommissionTestsOnSqlite(SqliteApi api) : AgentDecommissionTests(api), IClassFixture<SqliteApi>;

public sealed class AgentDecommissionTestsOnPostgres(PostgresApi api) : AgentDecommissionTests(api), IClassFixture<PostgresApi>;

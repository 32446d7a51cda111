using Platform.Cli.Agents;

namespace Platform.Cli.Forensics;

/// <summary><c>forensics view</c>: the most recent flight data of a host, a container or an incident's resource, one line an event.</summary>
public static class ForensicCommands
{
    public static Command Forensics(CliHost host)
    {
        var incident = new Option<string?>("--incident") { Description = "The host or container of this incident." };
        var agent = new Option<string?>("--agent") { Description = "A host (its agent's id, or its host name), its containers included." };
        var container = new Option<string?>("--container") { Description = "One container of the --agent (a container is one agent's)." };
        var limit = new Option<int?>("--limit") { Description = "How many of the most recent events (at most 500, the API's default)." };
        var view = new Command("view", "The most recent events (500 by default), oldest first: what ran, what it touched, where it connected.")
            .With(incident, agent, container, limit);
        view.Validators.Add(result =>
        {
            if (ResourceOptions.Problem(result.GetValue(incident), result.GetValue(agent), result.GetValue(container)) is { } problem)
                result.AddError(problem);
        });
        view.Does(host, async (run, cancellationToken) =>
        {
            var client = run.Client();
            var (agentId, containerId) = (run.Get(agent) is { } given ? await AgentCommands.IdAsync(client, given, cancellationToken) : null, run.Get(container));
            if (run.Get(incident) is { } incidentId)
            {
                var resource = (await client.GetIncidentAsync(incidentId, cancellationToken)).Resource;
                (agentId, containerId) = (resource.AgentId, resource.ContainerId);
            }

            var forensicView = containerId is not null
                ? await client.GetContainerForensicViewAsync(agentId!, containerId, run.Get(limit), cancellationToken)
                : await client.GetHostForensicViewAsync(agentId!, run.Get(limit), cancellationToken);
            if (run.Output.Json)
            {
                run.Output.Answer();
                return ExitCodes.Ok;
            }

            if (forensicView.OlderEventsExist)
                await host.Error.WriteLineAsync($"older events exist: the full record is in the bundle (platformctl bundle download {"--agent " + agentId + (containerId is not null ? " --container " + containerId : "")})");
            foreach (var e in forensicView.Events)
                run.Output.Text(Timeline.Line(e));
            return ExitCodes.Ok;
        });
        return new Command("forensics", "Flight data: what happened on a host or in a container.").With(view);
    }
}

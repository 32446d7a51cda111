using System.Globalization;
using System.Text.RegularExpressions;

namespace Platform.Cli.Agents;

/// <summary><c>agents list|get|decommission</c>: the enrolled agents, and where an agent id comes from for the other commands.</summary>
public static partial class AgentCommands
{
    public static Command Agents(CliHost host)
    {
        var prefix = new Option<string?>("--host") { Description = "Only hosts whose name starts with this." };
        var sort = SpecValues<AgentSort>.One("--sort", "The order: lastHeartbeat puts the silent first; enrolled, the default, oldest enrollment first");
        var agent = new Argument<string>("agent") { Description = "The agent's id (agt_...) or its host name." };
        return new Command("agents", "The enrolled agents: hosts, labels, what each can do.")
            .With(
                new Command("list", "The agents, with when each was last heard from.").With(prefix, sort).Lists<Agent>(
                    host,
                    async (client, run, cursor, limit, cancellationToken) => await client.ListAgentsAsync(limit, cursor, run.Get(prefix), run.Get(sort), cancellationToken),
                    ("id", a => a.Id),
                    ("host", a => a.Hostname),
                    ("os", a => a.Os),
                    ("version", a => a.AgentVersion),
                    ("labels", a => Output.Labels(a.Labels)),
                    ("last seen", a => Output.Time(a.LastSeenAt)),
                    ("state", a => Output.Spec(a.State))),
                new Command("get", "One agent and the status of its last heartbeat.").With(agent).Does(host, async (run, cancellationToken) =>
                {
                    var client = run.Client();
                    var found = await client.GetAgentAsync(await IdAsync(client, run.Get(agent)!, cancellationToken), cancellationToken);
                    var status = found.Status;
                    run.Output.Fields(
                        ("id", found.Id),
                        ("host", found.Hostname),
                        ("os", found.Os),
                        ("version", found.AgentVersion),
                        ("labels", Output.Labels(found.Labels, ", ")),
                        ("enrolled", Output.Time(found.EnrolledAt)),
                        ("last seen", Output.Time(found.LastSeenAt)),
                        ("fim", status is null ? null : $"{status.Fim.Rules} rules, {status.Fim.WatchedDirectories} directories watched"),
                        ("spool", status is null ? null : string.Create(CultureInfo.InvariantCulture,
                            $"{status.Spool.Bytes} bytes; {status.Spool.DroppedTelemetry} telemetry dropped, {status.Spool.RejectedBatches} batches refused")),
                        ("attribution", status is null ? null : Capability(status.Capabilities.ProcessAttribution)),
                        ("prevention", status is null ? null : Capability(status.Capabilities.Prevention)),
                        ("process events", status?.Capabilities.ProcessEvents is { } events ? Output.Spec(events) : null),
                        ("state", Output.Spec(found.State)),
                        ("decommissioned", found.DecommissionedAt is null ? null : $"{Output.Time(found.DecommissionedAt)} by {found.DecommissionedBy}"));
                    return ExitCodes.Ok;
                }),
                new Command("decommission", "Retire an agent for good: its credentials stop working at once, its evidence stays until retention (admin).")
                    .With(agent).Does(host, async (run, cancellationToken) =>
                    {
                        var client = run.Client();
                        var retired = await client.DecommissionAgentAsync(await IdAsync(client, run.Get(agent)!, cancellationToken), cancellationToken);
                        run.Output.Result($"{retired.Id} ({retired.Hostname}) is decommissioned since {Output.Time(retired.DecommissionedAt)}; enroll the host again to watch it as a new agent");
                        return ExitCodes.Ok;
                    }));
    }

    private static string Capability(AgentCapability capability) => capability.Available ? "available" : $"unavailable: {capability.Reason}";

    /// <summary>An agent id as given, or the id of the one agent whose host name is exactly that.</summary>
    public static async Task<string> IdAsync(PlatformClient client, string agent, CancellationToken cancellationToken)
    {
        if (AgentIdPattern().IsMatch(agent))
            return agent;
        var matches = await PageCursor.ItemsAsync<Agent>(async cursor => await client.ListAgentsAsync(200, cursor, agent, cancellationToken: cancellationToken))
            .Where(a => string.Equals(a.Hostname, agent, StringComparison.OrdinalIgnoreCase))
            .ToListAsync(cancellationToken);
        return matches switch
        {
            [var one] => one.Id,
            [] => throw new CliException($"there is no agent on a host named '{agent}' (platformctl agents list)."),
            _ => throw new CliException($"{matches.Count} agents are on hosts named '{agent}' ({string.Join(", ", matches.Select(m => m.Id))}): give the id."),
        };
    }

    [GeneratedRegex("^agt_[0-9a-f]{32}$")]
    private static partial Regex AgentIdPattern();
}

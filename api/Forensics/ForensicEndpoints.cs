using System.Text;
using Platform.Api.Agents;
using Platform.Api.Generated;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Api.Forensics;

/// <summary>What happened on a host or in a container: the short view (the most recent events).</summary>
public sealed class ForensicEndpoints(AgentStore agents, TelemetryStore store, EventReader reader) : ForensicsHandlersBase
{
    public override async Task<IResult> GetHostForensicView(HttpContext http, int limit, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may not read forensic views.", cancellationToken);
        if (agent is null)
            return refusal!;
        return await ViewAsync(http, agent, null, limit, cancellationToken);
    }

    public override async Task<IResult> GetContainerForensicView(HttpContext http, int limit, string containerId, CancellationToken cancellationToken)
    {
        // A container is known by its flight data: the agent that recorded it last is its host.
        var newest = await store.NewestFirstAsync(new SegmentFilter(null, containerId), cancellationToken).FirstOrDefaultAsync(cancellationToken);
        var agent = newest is null ? null : await agents.FindAsync(newest.AgentId, cancellationToken);
        if (agent is null)
            return Http.Problems.NotFound($"There is no flight data for container '{containerId}'.");
        return await ViewAsync(http, agent, containerId, limit, cancellationToken);
    }

    private async Task<IResult> ViewAsync(HttpContext http, AgentRow agent, string? containerId, int limit, CancellationToken cancellationToken)
    {
        var (events, older) = await reader.NewestAsync(new SegmentFilter(containerId is null ? agent.AgentId : null, containerId), limit, cancellationToken);
        if (WantsText(http))
        {
            var text = new StringBuilder(events.Count * 120);
            foreach (var e in events)
                text.Append(Encoding.UTF8.GetString(e.TimelineLine.Span)).Append('\n');
            return TypedResults.Text(text.ToString(), "text/plain; charset=utf-8");
        }

        return TypedResults.Ok(new ForensicView
        {
            AgentId = agent.AgentId, Hostname = agent.Hostname, ContainerId = containerId, OlderEventsExist = older, Events = events.Select(e => e.Event()).ToList(),
        });
    }

    /// <summary>text/plain when the client prefers it to JSON (Accept: text/plain); JSON otherwise.</summary>
    private static bool WantsText(HttpContext http)
    {
        var accept = http.Request.GetTypedHeaders().Accept;
        var text = accept.Where(a => a.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)).Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        var json = accept.Where(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || a.MediaType.Equals("*/*", StringComparison.Ordinal))
            .Select(a => a.Quality ?? 1).DefaultIfEmpty(0).Max();
        return text > 0 && text > json;
    }
}

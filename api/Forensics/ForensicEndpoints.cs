using Platform.Api.Agents;
using Platform.Api.Generated;
using Platform.Api.Telemetry;

namespace Platform.Api.Forensics;

/// <summary>What happened on a host or in a container: the short view (the most recent events) and the full bundle.</summary>
public sealed class ForensicEndpoints(AgentStore agents, TelemetryStore store, EventReader reader, ForensicBundles bundles, BundleDownloads downloads, BundleSigner signer, Audit.AuditLog audit) : ForensicsHandlersBase
{
    public override Task<Results<Ok<SigningKeyList>, ProblemHttpResult>> ListSigningKeys(HttpContext http, CancellationToken cancellationToken) =>
        Task.FromResult<Results<Ok<SigningKeyList>, ProblemHttpResult>>(TypedResults.Ok(new SigningKeyList
        {
            Items = [new SigningKey { KeyId = signer.KeyId, Algorithm = SigningKeyAlgorithm.Ed25519, PublicKeyPem = signer.PublicKeyPem, Current = true }],
        }));

    // Range, If-Range and If-None-Match are documented in openapi.yaml and handled by the file result.
    public override async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, Http.NotModified, ProblemHttpResult>> GetHostForensicBundle(HttpContext http, DateTimeOffset? from, DateTimeOffset? until, string? if_None_Match, string? range, string? if_Range, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may not download forensic bundles.", cancellationToken);
        if (agent is null)
            return refusal!;
        return await BundleAsync(http, agent, null, from, until, if_None_Match, cancellationToken);
    }

    public override async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, Http.NotModified, ProblemHttpResult>> GetContainerForensicBundle(HttpContext http, DateTimeOffset? from, DateTimeOffset? until, string? if_None_Match, string? range, string? if_Range, string agentId, string containerId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await ContainerAsync(http, agentId, containerId, cancellationToken);
        if (agent is null)
            return refusal!;
        return await BundleAsync(http, agent, containerId, from, until, if_None_Match, cancellationToken);
    }

    private async Task<Results<PhysicalFileHttpResult, Accepted<BundleBuild>, Http.NotModified, ProblemHttpResult>> BundleAsync(HttpContext http, AgentRow agent, string? containerId, DateTimeOffset? from, DateTimeOffset? until, string? ifNoneMatch, CancellationToken cancellationToken)
    {
        if (from > until)
            return Http.Problems.Validation("from", "'from' must not be after 'until'.");
        var scope = await bundles.ScopeAsync(agent, containerId, from, until, cancellationToken);
        var plan = await bundles.PlanAsync(scope, cancellationToken);
        var target = containerId is null ? new BundleDownloads.Target("agent", agent.AgentId) : new BundleDownloads.Target("container", ContainerTarget(agent.AgentId, containerId));
        return await downloads.AnswerAsync(http, plan, ifNoneMatch, $"forensics-{plan.Identity[..16]}.zip", BundleDownloads.Pinned(http, scope), target, cancellationToken);
    }

    /// <summary>
    /// A container is one agent's (the same id from two agents is two containers), known by that agent's flight data:
    /// 404 when the agent recorded nothing in it, whoever else did.
    /// </summary>
    private async Task<(AgentRow? Agent, ProblemHttpResult? Refusal)> ContainerAsync(HttpContext http, string agentId, string containerId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may not read forensic views or bundles.", cancellationToken);
        if (agent is null)
            return (null, refusal);
        var recorded = await store.NewestFirstAsync(new SegmentFilter(agentId, containerId), cancellationToken).AnyAsync(cancellationToken);
        return recorded ? (agent, null) : (null, Http.Problems.NotFound($"Agent '{agentId}' has no flight data for container '{containerId}'."));
    }

    public override async Task<Results<Http.StoredJson<ForensicView>, ContentHttpResult, ProblemHttpResult>> GetHostForensicView(HttpContext http, int limit, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may not read forensic views.", cancellationToken);
        if (agent is null)
            return refusal!;
        return await ViewAsync(http, agent, null, limit, cancellationToken);
    }

    public override async Task<Results<Http.StoredJson<ForensicView>, ContentHttpResult, ProblemHttpResult>> GetContainerForensicView(HttpContext http, int limit, string agentId, string containerId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await ContainerAsync(http, agentId, containerId, cancellationToken);
        if (agent is null)
            return refusal!;
        return await ViewAsync(http, agent, containerId, limit, cancellationToken);
    }

    /// <summary>How the audit log names a container: the same id on two agents is two containers.</summary>
    private static string ContainerTarget(string agentId, string containerId) => $"{agentId}/{containerId}";

    private async Task<Results<Http.StoredJson<ForensicView>, ContentHttpResult, ProblemHttpResult>> ViewAsync(HttpContext http, AgentRow agent, string? containerId, int limit, CancellationToken cancellationToken)
    {
        var (events, older) = await reader.NewestAsync(new SegmentFilter(agent.AgentId, containerId), limit, cancellationToken);
        var text = WantsText(http);
        // Chain of custody: who read which view, one entry a request (not one an event).
        await audit.AppendReadAsync(http.Caller(), "forensic-view.read", containerId is null ? "agent" : "container", containerId is null ? agent.AgentId : ContainerTarget(agent.AgentId, containerId), new
        {
            agentId = agent.AgentId,
            format = text ? "timeline" : "json",
            limit,
            events = events.Count,
            from = events.Count > 0 ? new DateTimeOffset(events[0].Position.Ticks, TimeSpan.Zero) : (DateTimeOffset?)null,
            until = events.Count > 0 ? new DateTimeOffset(events[^1].Position.Ticks, TimeSpan.Zero) : (DateTimeOffset?)null,
        }, cancellationToken);
        if (text)
        {
            var lines = new StringBuilder(events.Count * 120);
            foreach (var e in events)
                lines.Append(Encoding.UTF8.GetString(e.TimelineLine.Span)).Append('\n');
            return TypedResults.Text(lines.ToString(), "text/plain; charset=utf-8");
        }

        // The events are stored in the API's own JSON: write them out as they are rather than parse and
        // re-serialise 500 of them (the document is the ForensicView schema).
        return new Http.StoredJson<ForensicView>(async body =>
        {
            await using var json = new Utf8JsonWriter(body);
            json.WriteStartObject();
            json.WriteString("agentId", agent.AgentId);
            json.WriteString("hostname", agent.Hostname);
            if (containerId is not null)
                json.WriteString("containerId", containerId);
            json.WriteBoolean("olderEventsExist", older);
            json.WriteStartArray("events");
            foreach (var e in events)
                json.WriteRawValue(e.Json.Span, skipInputValidation: true);
            json.WriteEndArray();
            json.WriteEndObject();
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

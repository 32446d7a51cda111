using FluentValidation;
using Platform.Api.Generated;

namespace Platform.Api.Agents;

/// <summary>Label keys as Kubernetes has them (a DNS-like name, 63 characters at most); values up to 256 characters.</summary>
/// <summary>Label keys: openapi.yaml 3.0 can bound a map's size and values but has no word for its keys.</summary>
public sealed partial class LabelsValidator : AbstractValidator<IDictionary<string, string>>
{
    public LabelsValidator()
    {
        RuleForEach(labels => labels).ChildRules(label =>
        {
            label.RuleFor(l => l.Key).Must(key => key.Length is > 0 and <= 63 && LabelKey().IsMatch(key))
                .WithMessage("Label keys are 1 to 63 letters, digits, '.', '_' and '-', starting and ending with a letter or digit.");
        }).OverridePropertyName("labels");
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex LabelKey();
}

public sealed class AgentEnrollValidator : AbstractValidator<AgentEnroll>
{
    public AgentEnrollValidator()
    {
        RuleFor(a => a.Os).NotBlank();
        RuleFor(a => a.AgentVersion).NotBlank();
        RuleFor(a => a.Labels).SetValidator(new LabelsValidator()!).When(a => a.Labels is not null);
    }
}

public sealed class AgentLabelsReplaceValidator : AbstractValidator<AgentLabelsReplace>
{
    public AgentLabelsReplaceValidator()
    {
        RuleFor(a => a.Labels).SetValidator(new LabelsValidator());
    }
}

public sealed class AgentHeartbeatValidator : AbstractValidator<AgentHeartbeat>
{
    public AgentHeartbeatValidator()
    {
        RuleFor(a => a.AgentVersion).NotBlank().When(a => a.AgentVersion is not null);
        RuleFor(a => a.Os).NotBlank().When(a => a.Os is not null);
    }
}

public sealed class AgentEndpoints(AgentStore agents, AgentWriter writer, Cursors cursors, AgentSilence silence) : AgentsHandlersBase
{
    public override async Task<Results<Created<AgentEnrolled>, ProblemHttpResult>> EnrollAgent(HttpContext http, AgentEnroll body, CancellationToken cancellationToken)
    {
        var enrollmentTokenId = http.User.FindFirst(PlatformClaims.EnrollmentTokenId)!.Value;
        var (enrolled, refusal) = await writer.EnrollAsync(enrollmentTokenId, body, cancellationToken);
        if (enrolled is null)
            return Problems.Forbidden(refusal!);
        return TypedResults.Created($"/api/v1/agents/{enrolled.Agent.AgentId}", new AgentEnrolled { Agent = enrolled.Agent.ToContract(), TokenId = enrolled.TokenId, Secret = enrolled.Secret });
    }

    public override async Task<Results<Ok<AgentPage>, ProblemHttpResult>> ListAgents(HttpContext http, int limit, string? cursor, string? hostname, AgentSort sort, CancellationToken cancellationToken)
    {
        var prefix = string.IsNullOrEmpty(hostname) ? null : hostname;
        var (items, next) = sort == AgentSort.LastHeartbeat
            ? cursors.Page(
                await agents.ListByHeartbeatAsync(cursors.TryDecode(CursorLists.AgentsByHeartbeat, cursor, out var position) ? position : null, limit, prefix, cancellationToken),
                limit, CursorLists.AgentsByHeartbeat, row => (row.HeartbeatAt, row.AgentId))
            : cursors.Page(
                await agents.ListAsync(cursors.TryDecode(CursorLists.Agents, cursor, out var after) ? after : null, limit, prefix, cancellationToken),
                limit, CursorLists.Agents, row => row.AgentId);
        return TypedResults.Ok(new AgentPage { Items = items.Select(row => row.ToContract()).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<Agent>, ProblemHttpResult>> GetAgent(HttpContext http, string agentId, CancellationToken cancellationToken)
    {
        // The current row, not the one remembered with the caller's credential: it shows when the agent was last seen.
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent credential may only read its own agent.", cancellationToken, current: true);
        if (agent is null)
            return refusal!;
        return ETags.Ok(http, agent.Version, agent.ToContract());
    }

    public override async Task<Results<Ok<Agent>, ProblemHttpResult>> ReplaceAgentLabels(HttpContext http, string? if_Match, AgentLabelsReplace body, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await writer.ReplaceLabelsAsync(http.Caller(), agentId, if_Match, body.Labels, cancellationToken);
        switch (refusal)
        {
            case AgentRefusal.NotFound:
                return Problems.NotFound($"Agent '{agentId}' does not exist.");
            case AgentRefusal.Stale:
                return Problems.PreconditionFailed($"The agent is at version {agent!.Version} (ETag {ETags.For(agent.Version)}); If-Match named {if_Match}.");
            case AgentRefusal.ChangedMeanwhile:
                return Problems.PreconditionFailed("The agent changed while its labels were being replaced; read it again.");
        }

        return ETags.Ok(http, agent!.Version, agent.ToContract());
    }

    public override async Task<Results<Ok<Agent>, ProblemHttpResult>> DecommissionAgent(HttpContext http, string agentId, CancellationToken cancellationToken) =>
        await writer.DecommissionAsync(http.Caller(), agentId, cancellationToken) is { } agent
            ? ETags.Ok(http, agent.Version, agent.ToContract())
            : Problems.NotFound($"Agent '{agentId}' does not exist.");

    public override async Task<Results<Ok<Agent>, ProblemHttpResult>> RecordAgentHeartbeat(HttpContext http, AgentHeartbeat body, string agentId, CancellationToken cancellationToken)
    {
        if (!http.Caller().MaySee(agentId))
            return Problems.Forbidden("An agent credential may only send heartbeats for its own agent.");
        // With what it means for the agent's sensor-silent incidents (its silence is over; its protection stopped or is back).
        var agent = await silence.RecordHeartbeatAsync(agentId, body, cancellationToken);
        return agent is null ? Problems.NotFound($"Agent '{agentId}' does not exist.") : TypedResults.Ok(agent.ToContract());
    }
}

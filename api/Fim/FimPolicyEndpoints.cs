using Platform.Api.Agents;
using Platform.Api.Enrollment;
using Platform.Api.Generated;

namespace Platform.Api.Fim;

public sealed class FimPolicyEndpoints(AgentStore agents, FimPolicyCache policies) : FimPolicyHandlersBase
{
    public override async Task<Results<Ok<FimPolicy>, NotModified, ProblemHttpResult>> GetEffectiveFimPolicy(HttpContext http, string? if_None_Match, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent credential may only read its own policy.", cancellationToken);
        if (agent is null)
            return refusal!;

        var (rules, etag) = await policies.PolicyForAsync(agent.Hostname, Labels.Read(agent.LabelsJson), cancellationToken);
        http.Response.Headers.ETag = etag;
        if (ETags.NoneMatch(if_None_Match, etag))
            return NotModified.Instance;
        return TypedResults.Ok(new FimPolicy { AgentId = agentId, Rules = rules.ToList() });
    }
}

using Platform.Api.Agents;
using Platform.Api.Auth;
using Platform.Api.Enrollment;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Fim;

public sealed class FimPolicyEndpoints(AgentStore agents, FimPolicyCache policies) : FimPolicyHandlersBase
{
    public override async Task<IResult> GetEffectiveFimPolicy(HttpContext http, string? if_None_Match, string agentId, CancellationToken cancellationToken)
    {
        if (!http.Caller().MaySee(agentId))
            return Problems.Forbidden("An agent credential may only read its own policy.");
        var agent = await agents.FindAsync(agentId, cancellationToken);
        if (agent is null)
            return Problems.NotFound($"Agent '{agentId}' does not exist.");

        var (rules, etag) = await policies.PolicyForAsync(agent.Hostname, Labels.Read(agent.LabelsJson), cancellationToken);
        http.Response.Headers.ETag = etag;
        if (if_None_Match is not null && if_None_Match.Split(',', StringSplitOptions.TrimEntries).Any(tag => tag == etag || tag == "*"))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Ok(new FimPolicy { AgentId = agentId, Rules = rules.ToList() });
    }
}

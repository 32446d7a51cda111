namespace Platform.Api.Agents;

public static class AgentAccess
{
    /// <summary>
    /// The agent a request is about, or the answer to give instead: 403 when an agent's credential asks about
    /// another agent (<paramref name="forbidden"/> says what it may not do), 404 when there is no such agent.
    /// The agent's own credential comes with its row, as read at most <see cref="AuthOptions.CredentialCacheSeconds"/>
    /// ago (its hostname and labels); <paramref name="current"/> reads it again (its last heartbeat).
    /// </summary>
    public static async Task<(AgentRow? Agent, ProblemHttpResult? Refusal)> FindForCallerAsync(this AgentStore agents, HttpContext http, string agentId, string forbidden, CancellationToken cancellationToken, bool current = false)
    {
        if (!http.Caller().MaySee(agentId))
            return (null, Problems.Forbidden(forbidden));
        var agent = !current && http.Items.TryGetValue(typeof(CallerAgent), out var remembered) && remembered is CallerAgent { Row.AgentId: var id } caller && id == agentId
            ? caller.Row
            : await agents.FindAsync(agentId, cancellationToken);
        return agent is null ? (null, Problems.NotFound($"Agent '{agentId}' does not exist.")) : (agent, null);
    }

    /// <summary>The agent whose credential authenticated this request, read with the token.</summary>
    public static void RememberCallerAgent(this HttpContext http, AgentRow agent) => http.Items[typeof(CallerAgent)] = new CallerAgent(agent);

    private sealed record CallerAgent(AgentRow Row);
}

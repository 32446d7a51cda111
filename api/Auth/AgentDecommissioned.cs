namespace Platform.Api.Auth;

/// <summary>
/// Why an agent's credential was refused when the agent was decommissioned: a 401 of its own problem type, so that the
/// agent can tell "retired for good" (it stops) from a credential not accepted yet (it tries again).
/// </summary>
public sealed class AgentDecommissioned(string message) : Exception(message)
{
    public const string ProblemType = Http.Problems.TypeBase + "agent-decommissioned";
}

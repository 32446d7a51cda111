namespace Platform.Cli.Forensics;

/// <summary>Which resource a command is about: an incident, a host (--agent), or one of its containers (--agent with --container).</summary>
public static class ResourceOptions
{
    /// <summary>What is wrong with the combination given, or null.</summary>
    public static string? Problem(string? incident, string? agent, string? container) => (incident, agent, container) switch
    {
        (null, null, not null) => "--container needs --agent: a container is one agent's (the same id on two hosts is two containers).",
        (not null, null, null) or (null, not null, _) => null,
        _ => "give one of --incident, --agent, or --agent with --container.",
    };
}

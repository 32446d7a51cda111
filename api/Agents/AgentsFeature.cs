using FluentValidation;

namespace Platform.Api.Agents;

public static class AgentsFeature
{
    public static IServiceCollection AddAgentsFeature(this IServiceCollection services) =>
        services
            .AddSingleton<AgentStore>()
            .AddSingleton<AgentWriter>()
            .AddScoped<AgentEndpoints>()
            .AddSingleton<IValidator<AgentEnroll>, AgentEnrollValidator>()
            .AddSingleton<IValidator<AgentLabelsReplace>, AgentLabelsReplaceValidator>()
            .AddSingleton<IValidator<AgentHeartbeat>, AgentHeartbeatValidator>()
            .AddAgentSilence();
}

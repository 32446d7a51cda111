using System.Globalization;
using Dapper;
using Platform.Api.Http;
using Platform.Api.Incidents;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Agents;

public static class AgentSilenceSetup
{
    public static IServiceCollection AddAgentSilence(this IServiceCollection services)
    {
        return services
            .AddCheckedOptions<AgentsOptions>(AgentsOptions.Section, options => options.Problems())
            .AddSingleton<AgentSilence>()
            .AddHostedService<AgentSilenceMonitor>();
    }
}

namespace Platform.Agent;

/// <summary>
/// The agent's log levels before configuration: its own lines at Information, the HTTP stack's at Warning. At
/// Information, HttpClient writes four lines per request and Polly's resilience telemetry one per attempt: about 170 a
/// minute from heartbeats, policy polls and deliveries, drowning what the agent itself says. Retries, timeouts and
/// an open circuit are still logged (Warning). Registered before the configuration's rules, so that
/// <c>Logging:LogLevel:System.Net.Http.HttpClient=Information</c> (Logging__LogLevel__...) brings them back.
/// </summary>
public static class AgentLogging
{
    public static readonly string[] QuietCategories = ["System.Net.Http.HttpClient", "Microsoft.Extensions.Http", "Polly"];

    public static ILoggingBuilder AddQuietDefaults(this ILoggingBuilder logging)
    {
        foreach (var category in QuietCategories)
            logging.AddFilter(category, LogLevel.Warning);
        return logging;
    }
}

namespace Platform.Api.Http;

public static class IngestClockSetup
{
    public static IServiceCollection AddIngestClock(this IServiceCollection services, IConfiguration configuration)
    {
        return services
            .AddCheckedOptions<IngestOptions>(IngestOptions.Section, o => o.MaxClockSkew >= TimeSpan.Zero && o.MaxClockSkew <= TimeSpan.FromDays(1)
                ? [] : [$"{IngestOptions.Section}:MaxClockSkew must be between 0 and 1 day."])
            .AddSingleton<IngestClock>();
    }
}

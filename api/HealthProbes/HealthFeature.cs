namespace Platform.Api.HealthProbes;

public static class HealthFeature
{
    public static IServiceCollection AddHealthFeature(this IServiceCollection services) => services.AddScoped<HealthEndpoints>();
}

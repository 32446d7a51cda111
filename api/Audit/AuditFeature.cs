namespace Platform.Api.Audit;

public static class AuditFeature
{
    public static IServiceCollection AddAuditFeature(this IServiceCollection services) =>
        services.AddSingleton<AuditLog>().AddScoped<AuditEndpoints>();
}

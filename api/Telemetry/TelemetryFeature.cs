using FluentValidation;
using Platform.Contracts;

namespace Platform.Api.Telemetry;

public static class TelemetryFeature
{
    public static IServiceCollection AddTelemetryFeature(this IServiceCollection services, IConfiguration configuration) =>
        services
            .AddSingleton((configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions()).Checked())
            .AddSingleton(Redactor(configuration))
            .AddSingleton<TelemetryPins>()
            .AddSingleton<TelemetryRetention>()
            .AddHostedService(services => services.GetRequiredService<TelemetryRetention>())
            .AddSingleton<TelemetryStore>()
            .AddSingleton<EventReader>()
            .AddScoped<TelemetryEndpoints>()
            .AddScoped<Forensics.ForensicEndpoints>()
            .AddSingleton(configuration.GetSection(Forensics.ForensicsOptions.Section).Get<Forensics.ForensicsOptions>() ?? new Forensics.ForensicsOptions())
            .AddSingleton(services => Forensics.BundleSigner.Load(configuration.GetSection(Forensics.SigningOptions.Section).Get<Forensics.SigningOptions>() ?? new Forensics.SigningOptions(), services.GetRequiredService<Storage.DataDirectory>(), services.GetRequiredService<ILogger<Forensics.BundleSigner>>()))
            .AddSingleton<Forensics.ForensicBundles>()
            .AddSingleton<Forensics.BundleBuilds>()
            .AddHostedService(services => services.GetRequiredService<Forensics.BundleBuilds>())
            .AddSingleton<Forensics.BundleDownloads>()
            .AddSingleton<IValidator<InventoryReport>, InventoryReportValidator>();

    /// <summary>Platform:Redaction: the built-in rules and those configured, refused at start-up with each setting named.</summary>
    public const string RedactionSection = "Platform:Redaction";

    private static SecretRedactor Redactor(IConfiguration configuration) =>
        SecretRedactor.Create(configuration.GetSection(RedactionSection).Get<RedactionOptions>() ?? new RedactionOptions(), RedactionSection, out var problems)
        ?? throw new InvalidOperationException("Redaction settings are not usable: " + string.Join(" ", problems));
}

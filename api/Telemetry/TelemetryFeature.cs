using FluentValidation;

namespace Platform.Api.Telemetry;

public static class TelemetryFeature
{
    public static IServiceCollection AddTelemetryFeature(this IServiceCollection services)
    {
        // The ingest's checks come from openapi.yaml: a contract they cannot be read from fails the start.
        EventRules.Load();
        return services
            .AddCheckedOptions<TelemetryOptions>(TelemetryOptions.Section, options => options.Problems())
            .AddCheckedOptions<RedactionOptions>(RedactionSection, RedactionProblems)
            .AddSingleton(services => SecretRedactor.Create(services.GetRequiredService<RedactionOptions>(), RedactionSection, out _)!)
            .AddSingleton<TelemetryPins>()
            .AddSingleton<TelemetryRetention>()
            .AddHostedService(services => services.GetRequiredService<TelemetryRetention>())
            .AddSingleton<TelemetryStore>()
            .AddSingleton<InventoryWriter>()
            .AddSingleton<EventReader>()
            .AddScoped<TelemetryEndpoints>()
            .AddScoped<Forensics.ForensicEndpoints>()
            .AddCheckedOptions<Forensics.ForensicsOptions>(Forensics.ForensicsOptions.Section, options => options.Problems())
            .AddCheckedOptions<Forensics.SigningOptions>(Forensics.SigningOptions.Section, options => options.Problems())
            .AddSingleton(services => Forensics.BundleSigner.Load(services.GetRequiredService<Forensics.SigningOptions>(), services.GetRequiredService<Storage.DataDirectory>(), services.GetRequiredService<ILogger<Forensics.BundleSigner>>()))
            .AddSingleton<Forensics.ForensicBundles>()
            .AddSingleton<Forensics.BundleBuilds>()
            .AddHostedService(services => services.GetRequiredService<Forensics.BundleBuilds>())
            .AddSingleton<Forensics.BundleDownloads>();
    }

    /// <summary>Platform:Redaction: the built-in rules and those configured, refused at start-up with each setting named.</summary>
    public const string RedactionSection = "Platform:Redaction";

    private static IEnumerable<string> RedactionProblems(RedactionOptions options)
    {
        SecretRedactor.Create(options, RedactionSection, out var problems);
        return problems.Select(problem => "Redaction settings are not usable: " + problem);
    }
}

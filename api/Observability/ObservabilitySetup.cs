using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Platform.Api.Observability;

/// <summary>
/// Metrics and traces (docs/observability.md): <see cref="ApiMetrics"/> always (instruments nobody listens to cost a
/// branch); the OpenTelemetry SDK only when something is to receive them: a Prometheus scrape listener on a port of its
/// own (Platform:Observability:Prometheus), an OTLP collector (Platform:Observability:Otlp:Endpoint or
/// OTEL_EXPORTER_OTLP_ENDPOINT), or both. Off, nothing listens, nothing connects, nothing is buffered.
/// </summary>
public static class ObservabilitySetup
{
    public static IServiceCollection AddPlatformObservability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCheckedOptions<ObservabilityOptions>(ObservabilityOptions.Section, options => options.Problems());
        services.AddSingleton<ApiMetrics>();
        var options = configuration.GetSection(ObservabilityOptions.Section).Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        var otlp = options.OtlpEndpoint(configuration[ObservabilityOptions.OtlpEnvironmentVariable]);
        var scrape = options.Prometheus.Enabled ? ObservabilityOptions.ScrapeAddress(options.Prometheus.Url) : null; // a bad URL stops the start (Problems)
        if (otlp is null && scrape is null)
            return services;

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("platform-api"))
            .WithMetrics(metrics =>
            {
                ConfigureMetrics(metrics);
                if (scrape is { } address)
                    metrics.AddPrometheusHttpListener(listener => (listener.Host, listener.Port) = address);
                if (otlp is not null)
                    metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
            });
        // Spans have no pull exporter: traced only when OTLP is on.
        if (otlp is not null)
            telemetry.WithTracing(tracing => ConfigureTracing(tracing).AddOtlpExporter(exporter => exporter.Endpoint = otlp));
        return services;
    }

    /// <summary>The api's meter, ASP.NET Core's and Kestrel's (request durations by route template and status) and the runtime's.</summary>
    public static MeterProviderBuilder ConfigureMetrics(MeterProviderBuilder metrics) =>
        metrics.AddMeter(ApiMetrics.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime");

    /// <summary>
    /// Requests and the api's own spans, and nothing from what a client sent beyond method, route and status: the query
    /// string is dropped (a token could be in one), headers are never recorded (Authorization above all), payloads
    /// neither. Outgoing HTTP (webhooks) is not traced: a receiver's URL can carry its secret (Slack-style hook paths).
    /// Health probes are left out: a probe every few seconds is noise, not a trace.
    /// </summary>
    public static TracerProviderBuilder ConfigureTracing(TracerProviderBuilder tracing) =>
        tracing.AddSource(ApiMetrics.Name).AddAspNetCoreInstrumentation(requests =>
        {
            requests.Filter = http => !http.Request.Path.StartsWithSegments("/api/v1/health", StringComparison.Ordinal);
            requests.EnrichWithHttpRequest = (activity, _) =>
            {
                activity.SetTag("url.query", null);
                activity.SetTag("url.full", null);
            };
        });

    /// <summary>Ingest operations (by operationId) and the kind of what they carry: their 4xx answers are refused batches.</summary>
    private static readonly Dictionary<string, string> IngestOperations = new(StringComparer.Ordinal)
    {
        ["pushTelemetry"] = ApiMetrics.FlightData,
        ["pushFimAlerts"] = ApiMetrics.FimAlerts,
    };

    /// <summary>
    /// Counts the ingest requests refused (any 4xx: checks, auth, body limits, the rate limiter's 429), wherever in the
    /// pipeline the answer was made. Placed before the exception handler, which clears the endpoint of what it answers.
    /// </summary>
    public static IApplicationBuilder UseIngestRefusals(this IApplicationBuilder app)
    {
        var metrics = app.ApplicationServices.GetRequiredService<ApiMetrics>();
        return app.Use(async (http, next) =>
        {
            var operation = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
            await next(http);
            if (operation is not null && http.Response.StatusCode is >= 400 and < 500 && IngestOperations.TryGetValue(operation, out var kind))
                metrics.Refused(kind, http.Response.StatusCode);
        });
    }
}

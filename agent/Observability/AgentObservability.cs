using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Platform.Agent.Observability;

/// <summary>
/// Where the agent's metrics go (docs/observability.md), both off by default:
/// <c>Platform:Agent:Observability:PrometheusUrl</c> (<c>Platform__Agent__Observability__PrometheusUrl=http://127.0.0.1:9465</c>)
/// serves <c>/metrics</c> on a loopback listener of its own; <c>Platform:Agent:Observability:OtlpEndpoint</c> or the
/// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> pushes them to a collector. With neither, the OpenTelemetry SDK is not
/// started: a node pays nothing for it. Read as plain strings (no reflection binding: the agent is NativeAOT).
/// </summary>
public static class AgentObservability
{
    public const string Section = AgentOptions.Section + ":Observability";
    public const string PrometheusUrl = Section + ":PrometheusUrl", OtlpEndpoint = Section + ":OtlpEndpoint";

    /// <summary>A setting that cannot work, named; null when both are usable or absent.</summary>
    public static string? Problem(IConfiguration configuration)
    {
        if (configuration[PrometheusUrl] is { Length: > 0 } url && Scrape(url) is null)
            return $"{PrometheusUrl} must be http://<address>:<port> (no path), e.g. http://127.0.0.1:9465; it is '{url}'.";
        if (configuration[OtlpEndpoint] is { Length: > 0 } otlp && !(Uri.TryCreate(otlp, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            return $"{OtlpEndpoint} must be an http(s) address, e.g. http://collector:4317; it is '{otlp}'.";
        return null;
    }

    public static IServiceCollection AddAgentObservability(this IServiceCollection services, IConfiguration configuration)
    {
        var scrape = configuration[PrometheusUrl] is { Length: > 0 } url ? Scrape(url) : null;
        var otlp = Uri.TryCreate(configuration[OtlpEndpoint] is { Length: > 0 } configured ? configured : configuration["OTEL_EXPORTER_OTLP_ENDPOINT"], UriKind.Absolute, out var endpoint)
            ? endpoint
            : null;
        if (scrape is null && otlp is null)
            return services;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("platform-agent"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(AgentMetrics.Name, "System.Runtime");
                if (scrape is { } address)
                    metrics.AddPrometheusHttpListener(listener => (listener.Host, listener.Port) = address);
                if (otlp is not null)
                    metrics.AddOtlpExporter(exporter => exporter.Endpoint = otlp);
            });
        return services;
    }

    private static (string Host, int Port)? Scrape(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri is { Scheme: "http", AbsolutePath: "/", IsDefaultPort: false, Query.Length: 0 } ? (uri.Host, uri.Port) : null;
}

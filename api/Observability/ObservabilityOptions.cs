namespace Platform.Api.Observability;

/// <summary>
/// Metrics and traces (section <c>Platform:Observability</c>, docs/observability.md). Both exports are off by default:
/// with neither configured the OpenTelemetry SDK is not even started (the instruments cost a branch each).
/// </summary>
public sealed class ObservabilityOptions
{
    public const string Section = "Platform:Observability";

    public PrometheusOptions Prometheus { get; set; } = new();

    public OtlpOptions Otlp { get; set; } = new();

    public sealed class PrometheusOptions
    {
        /// <summary>Serve <c>/metrics</c> for a Prometheus server to scrape, on <see cref="Url"/>.</summary>
        public bool Enabled { get; set; }

        /// <summary>
        /// A listener of its own, apart from the api's addresses: the scrape is unauthenticated, so it is on loopback by
        /// default and never on the port clients (and their tokens) use. Another interface only behind a firewall.
        /// </summary>
        public string Url { get; set; } = "http://127.0.0.1:9464";
    }

    public sealed class OtlpOptions
    {
        /// <summary>
        /// Where traces and metrics are pushed (an OpenTelemetry collector, e.g. <c>http://collector:4317</c>). Empty:
        /// nowhere, unless the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (which also takes the standard
        /// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>_HEADERS</c> and so on).
        /// </summary>
        public string Endpoint { get; set; } = "";
    }

    /// <summary>The standard variable that turns OTLP on without a Platform setting.</summary>
    public const string OtlpEnvironmentVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Where OTLP goes, or null when it is off.</summary>
    public Uri? OtlpEndpoint(string? environment) =>
        Uri.TryCreate(Otlp.Endpoint.Length > 0 ? Otlp.Endpoint : environment, UriKind.Absolute, out var endpoint) ? endpoint : null;

    public IEnumerable<string> Problems()
    {
        if (Prometheus.Enabled && ScrapeAddress(Prometheus.Url) is null)
            yield return $"{Section}:Prometheus:Url must be http://<address>:<port> (no path), e.g. http://127.0.0.1:9464; it is '{Prometheus.Url}'.";
        if (Otlp.Endpoint.Length > 0 && !(Uri.TryCreate(Otlp.Endpoint, UriKind.Absolute, out var otlp) && otlp.Scheme is "http" or "https"))
            yield return $"{Section}:Otlp:Endpoint must be an http(s) address, e.g. http://collector:4317; it is '{Otlp.Endpoint}'.";
    }

    /// <summary>The host and port of a scrape listener's URL (http only: Prometheus scrapes it on the same machine or network), or null.</summary>
    public static (string Host, int Port)? ScrapeAddress(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == "http" && uri.AbsolutePath == "/" && !uri.IsDefaultPort && uri.Query.Length == 0
            ? (uri.Host, uri.Port)
            : null;
}

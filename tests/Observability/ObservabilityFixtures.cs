using System.Collections.ObjectModel;
using System.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Platform.Api.Observability;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Observability;

/// <summary>The api with its tracing set up as in production (<see cref="ObservabilitySetup.ConfigureTracing"/>), exporting to memory instead of OTLP.</summary>
public sealed class TracedApi : SqliteApi
{
    public SpanList Spans { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddOpenTelemetry().WithTracing(tracing => ObservabilitySetup.ConfigureTracing(tracing).AddInMemoryExporter(Spans)));
    }
}

/// <summary>Finished spans as the exporter hands them over; read while requests may still be ending.</summary>
public sealed class SpanList : Collection<Activity>
{
    private readonly Lock _gate = new();

    protected override void InsertItem(int index, Activity item)
    {
        lock (_gate)
            base.InsertItem(index, item);
    }

    public List<Activity> Snapshot()
    {
        lock (_gate)
            return [.. Items];
    }
}

/// <summary>The api with its Prometheus scrape listener on a free loopback port.</summary>
public sealed class ScrapedApi : SqliteApi
{
    public int MetricsPort { get; } = PrometheusServer.FreePort();

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:Observability:Prometheus:Enabled"] = "true",
        ["Platform:Observability:Prometheus:Url"] = $"http://127.0.0.1:{MetricsPort}",
    };
}

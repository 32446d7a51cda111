using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Telemetry.TelemetryEvents;

namespace Platform.Tests.Observability;

/// <summary>Off by default: no OpenTelemetry SDK, no listener, nothing on the api's own addresses.</summary>
public sealed class ObservabilityOffTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Nothing_is_exported_or_served_unless_configured()
    {
        using var http = api.Http(api.AdminSecret);
        using var ready = await http.GetAsync("/api/v1/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // the host is up

        Assert.Null(api.Services.GetService<MeterProvider>());
        Assert.Null(api.Services.GetService<TracerProvider>());
        using var metrics = await http.GetAsync("/metrics");
        Assert.NotEqual(HttpStatusCode.OK, metrics.StatusCode);
    }
}

/// <summary>Prometheus's scrape on the listener of its own, in the text format a Prometheus server reads.</summary>
public sealed class PrometheusListenerTests(ScrapedApi api) : IClassFixture<ScrapedApi>
{
    [Fact]
    public async Task The_scrape_listener_serves_the_ingest_counter_and_the_apis_port_does_not()
    {
        var (agent, enrolled) = await api.EnrolledAgent("scraped-01");
        await agent.PushTelemetryAsync(Batch(1, Reads("s", T0, 3)), enrolled.Agent.Id);

        using var scraper = new HttpClient();
        var text = await scraper.GetStringAsync($"http://127.0.0.1:{api.MetricsPort}/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("platform_events_ingested_total{", StringComparison.Ordinal) && l.Contains("kind=\"flight_data\"") && l.Contains("store=\"sqlite\""));
        Assert.True(line is not null, "no platform_events_ingested_total series in:\n" + text);
        Assert.True(double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) >= 3, line);
        Assert.Contains("platform_queue_depth{", text);
        Assert.Contains("http_server_request_duration_seconds_bucket{", text); // ASP.NET Core's own, by route template

        using var onTheApi = await api.Http(api.AdminSecret).GetAsync("/metrics");
        Assert.NotEqual(HttpStatusCode.OK, onTheApi.StatusCode);
    }
}

/// <summary>What spans hold: method, route, status and the api's own ingest span, never a credential, a query or a payload value.</summary>
public sealed class TracingTests(TracedApi api) : IClassFixture<TracedApi>
{
    [Fact]
    public async Task Spans_carry_no_token_no_query_and_no_payload_value()
    {
        var (agent, enrolled) = await api.EnrolledAgent("traced-01");
        var payload = "/srv/payload-" + Guid.NewGuid().ToString("N");
        var queryToken = "qt-" + Guid.NewGuid().ToString("N");
        await agent.PushTelemetryAsync(Batch(1, Read("t1", T0, payload)), enrolled.Agent.Id);
        using var http = api.Http(api.AdminSecret);
        using var listed = await http.GetAsync($"/api/v1/agents?limit=5&access_token={queryToken}");

        List<Activity> spans = [];
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            spans = api.Spans.Snapshot();
            if (spans.Any(s => s.Kind == ActivityKind.Server && Tag(s, "http.route") == "/api/v1/agents") && spans.Any(s => s.DisplayName == "ingest flight_data"))
                break;
            await Task.Delay(20);
        }

        // The spans are there (so the checks below look at something)...
        var push = Assert.Single(spans, s => s.Kind == ActivityKind.Server && s.TagObjects.Any(t => t.Key == "url.path" && $"{t.Value}".Contains(enrolled.Agent.Id, StringComparison.Ordinal)) && Tag(s, "http.request.method") == "POST");
        var ingest = Assert.Single(spans, s => s.DisplayName == "ingest flight_data" && s.TraceId == push.TraceId);
        Assert.Equal(push.SpanId, ingest.ParentSpanId);
        Assert.Equal(("flight_data", "stored", "1"), (Tag(ingest, "platform.ingest.kind"), Tag(ingest, "platform.ingest.outcome"), Tag(ingest, "platform.ingest.received")));
        var list = Assert.Single(spans, s => s.Kind == ActivityKind.Server && Tag(s, "http.route") == "/api/v1/agents");
        Assert.Null(Tag(list, "url.query"));
        Assert.Null(Tag(list, "url.full"));

        // ...and no span holds a secret, the query, or a value of the payload.
        foreach (var secret in new[] { api.AdminSecret, enrolled.Secret, queryToken, payload, "Bearer" })
        {
            foreach (var span in spans)
            {
                Assert.DoesNotContain(secret, span.DisplayName, StringComparison.Ordinal);
                Assert.DoesNotContain(span.TagObjects, t => $"{t.Value}".Contains(secret, StringComparison.Ordinal));
                Assert.DoesNotContain(span.Events.SelectMany(e => e.Tags), t => $"{t.Value}".Contains(secret, StringComparison.Ordinal));
                Assert.DoesNotContain(span.Baggage, b => $"{b.Value}".Contains(secret, StringComparison.Ordinal));
            }
        }
    }

    private static string? Tag(Activity span, string name) => span.TagObjects.FirstOrDefault(t => t.Key == name).Value is { } value ? Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) : null;
}

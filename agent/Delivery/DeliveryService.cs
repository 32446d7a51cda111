using System.Text.Json;
using Platform.Agent.Enrollment;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Platform.Agent.Delivery;

/// <summary>
/// Sends what the spool holds, oldest first, a batch at a time per stream, and acknowledges a batch to the spool
/// only once the api said it is committed. A batch that cannot be delivered now (api down, circuit open, 5xx,
/// 429) stays in flight and goes again, the same, after a pause that grows to a minute: nothing is given up.
/// A batch the api refuses for what it is (4xx) would be refused forever: it is set aside in
/// <c>spool/rejected/</c> with the api's answer, counted, and delivery goes on.
/// </summary>
public sealed class DeliveryService(Spool spool, CredentialStore credentials, IHttpClientFactory clients, AgentOptions options, ILogger<DeliveryService> log, Observability.AgentMetrics metrics) : BackgroundService
{
    private const int AlertsPerBatch = 500;
    private const long BytesPerBatch = 768 * 1024; // the api takes 1 MiB; JSON framing adds a little

    private long _rejected;

    /// <summary>Batches the api refused (kept aside, not sent again).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var credential = await WithPatience(credentials.GetAsync, stoppingToken);
        var http = clients.CreateClient(PlatformHttp.Api);
        var client = new PlatformClient(http);
        await Task.WhenAll(
            DeliverAsync(spool.Telemetry, options.TelemetryBatchEvents, batch => PushTelemetryAsync(http, batch, credential.AgentId, stoppingToken), stoppingToken),
            DeliverAsync(spool.Alerts, AlertsPerBatch, batch => client.PushFimAlertsAsync(
                new FimAlertBatch { Alerts = batch.Records.Select(r => JsonSerializer.Deserialize(r, Spool.Json.TypeInfo<FimAlertReport>())!).ToList() },
                credential.AgentId, stoppingToken), stoppingToken));
    }

    private async Task DeliverAsync(SpoolQueue queue, int maxRecords, Func<SpoolBatch, Task> send, CancellationToken stoppingToken)
    {
        var linger = TimeSpan.FromMilliseconds(options.LingerMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var waiting = queue.Counts.Records;
            if (waiting == 0)
            {
                await spool.WaitForRecordsAsync(queue, stoppingToken);
                continue;
            }

            // Not a full batch yet: give it a moment to fill (fewer, larger requests).
            if (waiting < maxRecords)
                await Task.Delay(linger, stoppingToken);

            var batch = queue.Take(maxRecords, BytesPerBatch);
            if (batch is null)
                continue;
            await WithPatience(async cancellationToken =>
            {
                try
                {
                    await send(batch);
                }
                catch (PlatformApiException refused) when (refused.StatusCode is >= 400 and < 500 && !IsPassing(refused.StatusCode))
                {
                    SetAside(queue, batch, refused);
                }

                queue.Acknowledge(batch);
                metrics.Sent(queue, batch.Records.Count);
                return true;
            }, stoppingToken);
        }
    }

    /// <summary>
    /// Pushes a telemetry batch (pushTelemetry) with its events' JSON as the spool holds it. Through the generated
    /// client each event would be read back into an object and written again: two thirds of delivery's CPU. A status
    /// other than 200 is a <see cref="PlatformApiException"/>, as the generated client throws.
    /// </summary>
    private static async Task PushTelemetryAsync(HttpClient http, SpoolBatch batch, string agentId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/agents/{Uri.EscapeDataString(agentId)}/telemetry") { Content = TelemetryBody.Create(batch) };
        request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        if (status == 200)
            return;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var headers = new Dictionary<string, IEnumerable<string>>();
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            headers[name] = values;
        throw new PlatformApiException($"The api answered {status} to telemetry batch {batch.Id}.", status, text, headers, null);
    }

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, pausing longer each time it fails for a passing reason.</summary>
    private async Task<T> WithPatience<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromMilliseconds(Math.Min(500, options.LingerMilliseconds));
        while (true)
        {
            try
            {
                return await attempt(stoppingToken);
            }
            catch (Exception failure) when (!stoppingToken.IsCancellationRequested && IsPassing(failure))
            {
                metrics.Unreachable();
                log.LogWarning("The api cannot be reached or is unwell ({Reason}); trying again in {Pause}", failure.Message, pause);
                await Task.Delay(pause * (0.75 + Random.Shared.NextDouble() / 2), stoppingToken);
                pause = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, pause.Ticks * 2));
            }
        }
    }

    /// <summary>A failure that may be gone later (the api unreachable, unwell, busy or slow): worth trying again.</summary>
    internal static bool IsPassing(Exception failure) => failure is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or TaskCanceledException or IOException
        || (failure is PlatformApiException api && IsPassing(api.StatusCode));

    /// <summary>An answer that may be different later: the api unwell (5xx), busy (429), slow (408), or the credential not (yet) accepted (401).</summary>
    private static bool IsPassing(int status) => status >= 500 || status is 401 or 408 or 429;

    private void SetAside(SpoolQueue queue, SpoolBatch batch, PlatformApiException refused)
    {
        var directory = Path.Combine(options.StateDirectory, "spool", "rejected");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{(queue == spool.Telemetry ? "telemetry" : "fim-alerts")}-{batch.Id}.json");
        using (var file = File.Create(path))
        using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            json.WriteNumber("status", refused.StatusCode);
            json.WriteString("response", refused.Response);
            json.WriteStartArray("records");
            foreach (var record in batch.Records)
                json.WriteRawValue(record);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        Interlocked.Increment(ref _rejected);
        metrics.Refused();
        log.LogError("The api refused batch {Batch} ({Status}): set aside in {Path}", batch.Id, refused.StatusCode, path);
    }
}

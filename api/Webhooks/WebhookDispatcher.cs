using Polly;
using Polly.Retry;

namespace Platform.Api.Webhooks;

/// <summary>
/// Sends the outbox: due deliveries are claimed (one instance each), signed and POSTed, with a couple of quick
/// Polly retries for connection failures within an attempt; an attempt that fails is tried again later with
/// back-off (<see cref="WebhookOptions.Backoff"/>), up to <see cref="WebhookOptions.MaxAttempts"/>. Redirects are
/// not followed and every address is checked (<see cref="OutboundAddresses"/>).
/// </summary>
public sealed class WebhookDispatcher : QueueWorker
{
    private const int ClaimBatch = 32;

    private readonly Database _database;
    private readonly WebhookStore _store;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _retry;
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly Observability.ApiMetrics _metrics;

    public WebhookDispatcher(Database database, WebhookStore store, WebhookOptions options, OutboundAddresses addresses, TimeProvider time, ILogger<WebhookDispatcher> logger, Observability.ApiMetrics metrics)
        : base(logger, "Webhook pass failed; the deliveries stay queued.")
    {
        (_database, _store, _options, _time, _metrics) = (database, store, options, time, metrics);
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = (context, token) => addresses.ConnectAsync(context.DnsEndPoint, token),
            ConnectTimeout = options.Timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            UseProxy = false,
        })
        { Timeout = options.Timeout };
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // Only a connection that failed to open or broke before an answer; an answer (any status) is the attempt's result.
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(e => e.StatusCode is null && Refusal(e) is null),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();
    }

    protected override TimeSpan PollInterval => _options.PollInterval;

    /// <summary>Sends everything due now (the service does this in the background; tests call it).</summary>
    public override async Task DrainAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            await ForgetEndedOverlapsAsync(cancellationToken);
            while (true)
            {
                var now = _time.GetUtcNow();
                var due = await ClaimDueAsync(now, cancellationToken);
                if (due.Count == 0)
                    return;
                await Task.WhenAll(due.Select(d => SendAsync(d, cancellationToken)));
            }
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task SendAsync(DeliveryRow delivery, CancellationToken cancellationToken)
    {
        var webhook = await _store.FindAsync(delivery.WebhookId, cancellationToken);
        if (webhook is null)
            return;
        int? status = null;
        string? error = null;
        try
        {
            var body = Encoding.UTF8.GetBytes(delivery.Payload);
            using var response = await _retry.ExecuteAsync(async token =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };
                foreach (var (name, value) in WebhookSigning.Headers(webhook, delivery.DeliveryId, _time.GetUtcNow(), body))
                    request.Headers.Add(name, value);
                return await _http.SendAsync(request, token);
            }, cancellationToken);
            status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
                error = $"HTTP {status}: redirects are not followed (to {response.Headers.Location})";
            else if (status is < 200 or >= 300)
                error = $"HTTP {status} {response.ReasonPhrase}";
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            error = ex is TaskCanceledException ? $"No answer within {_options.Timeout.TotalSeconds:0} s" : Refusal(ex) ?? ex.Message;
        }

        await using var write = await _database.BeginWriteAsync(CancellationToken.None, background: true);
        await _store.RecordAttemptAsync(write, delivery, status, error, _options, CancellationToken.None);
        await write.CommitAsync(CancellationToken.None);
        _metrics.WebhookAttempt(delivery.Status);
    }

    /// <summary>Deletes the previous secrets whose rotation overlap has ended (signing ignores them already).</summary>
    private async Task ForgetEndedOverlapsAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!await _store.AnyOverlapEndedAsync(now, cancellationToken))
            return;
        await using var write = await _database.BeginWriteAsync(cancellationToken, background: true);
        await _store.ForgetEndedOverlapsAsync(write, now, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<DeliveryRow>> ClaimDueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!await _store.AnyDueAsync(now, cancellationToken))
            return [];
        await using var write = await _database.BeginWriteAsync(cancellationToken, background: true);
        var claimed = await _store.ClaimDueAsync(write, now, now + _options.ClaimDuration, ClaimBatch, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return claimed;
    }

    /// <summary>The address check's refusal inside a connection failure, if that is what it was.</summary>
    private static string? Refusal(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e.Message.StartsWith(OutboundAddresses.RefusedPrefix, StringComparison.Ordinal))
                return e.Message;
        }

        return null;
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}

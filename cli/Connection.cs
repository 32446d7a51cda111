using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Platform.Cli;

/// <summary>
/// Which API and which token a command uses. The first of these that is set wins:
/// server: <c>--server</c>, <c>PLATFORM_SERVER</c>, the profile's server;
/// token: <c>--token-file</c>, <c>PLATFORM_TOKEN</c>, <c>PLATFORM_TOKEN_FILE</c>, the profile's token (saved by <c>login</c>);
/// profile: <c>--profile</c>, <c>PLATFORM_PROFILE</c>, the one <c>profile use</c> chose, <c>default</c>.
/// There is no <c>--token</c>: a secret on the command line ends up in shell history and process lists.
/// </summary>
public sealed record Connection(Uri Server, string Token, string Profile)
{
    /// <summary>Failed requests tried again at most this many times (safe and idempotent methods only).</summary>
    public const int Retries = 3;

    /// <summary>A client of the API; with <paramref name="answers"/>, each JSON answer (after any retries) is kept as it came.</summary>
    public PlatformClient Client(CliHost host, ApiAnswers? answers = null)
    {
        HttpMessageHandler transport = new ResilienceHandler(RetryPipeline(host)) { InnerHandler = host.Handler?.Invoke() ?? new SocketsHttpHandler() };
        if (answers is not null)
            transport = answers.Recorder(transport);
        var http = new HttpClient(transport, disposeHandler: true)
        {
            BaseAddress = Server,
            // Bundles and exports stream for as long as they take; a stalled connection is caught by the read itself.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("platformctl", typeof(Connection).Assembly.GetName().Version?.ToString(3) ?? "1.0.0"));
        return new PlatformClient(http);
    }

    /// <summary>
    /// A dropped connection, a timeout, 429 or a 5xx is tried again (Retry-After honoured), but only for GET, HEAD, PUT
    /// and DELETE: a POST (a new token, a status change) is not sent twice behind the user's back.
    /// </summary>
    private static ResiliencePipeline<HttpResponseMessage> RetryPipeline(CliHost host)
    {
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Retries,
            Delay = host.RetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = arguments =>
            {
                var what = arguments.Outcome.Exception?.Message ?? $"HTTP {(int)arguments.Outcome.Result!.StatusCode}";
                host.Error.WriteLine($"the API did not answer ({what}); trying again in {arguments.RetryDelay.TotalSeconds:0.#} s ({arguments.AttemptNumber + 1} of {Retries})");
                return default;
            },
        };
        retry.DisableFor(HttpMethod.Post, HttpMethod.Patch);
        return new ResiliencePipelineBuilder<HttpResponseMessage>().AddRetry(retry).Build();
    }

    public static Uri ParseServer(string value)
    {
        if (!Uri.TryCreate(value.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException($"'{value}' is not a server address: give http(s)://host[:port].", ExitCodes.Usage);
        return uri;
    }
}

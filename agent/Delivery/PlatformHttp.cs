using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Platform.Agent.Enrollment;

namespace Platform.Agent.Delivery;

/// <summary>
/// The HTTP clients the agent talks to the api with: each request under Polly's standard pipeline (a timeout
/// per attempt, retries with jittered exponential backoff that honour Retry-After on 429 and 503, a circuit
/// breaker, an overall timeout). Retrying a push is safe: batches and alerts carry ids the api deduplicates by.
/// Past the pipeline, the delivery loop keeps the batch and tries again later: nothing is given up.
/// </summary>
public static class PlatformHttp
{
    public const string Api = "platform";
    public const string Enrollment = "platform-enrollment";

    public static IServiceCollection AddPlatformClient(this IServiceCollection services, AgentOptions options, Func<HttpMessageHandler>? transport)
    {
        services.AddTransient<CredentialHandler>();
        services.AddTransient<ResponseETag>();
        services.AddTransient<Decommissioned>();
        foreach (var name in new[] { Api, Enrollment })
        {
            var client = services.AddHttpClient(name, http =>
            {
                http.BaseAddress = options.Server;
                http.Timeout = Timeout.InfiniteTimeSpan; // the pipeline's timeouts apply
                if (name == Enrollment)
                    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.EnrollToken);
            });
            if (transport is not null)
                client.ConfigurePrimaryHttpMessageHandler(transport);
            if (name == Api)
                client.AddHttpMessageHandler<CredentialHandler>().AddHttpMessageHandler<ResponseETag>().AddHttpMessageHandler<Decommissioned>();
            client.AddStandardResilienceHandler(resilience =>
            {
                resilience.AttemptTimeout.Timeout = TimeSpan.FromSeconds(20);
                resilience.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(90);
                resilience.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(40);
                resilience.Retry.MaxRetryAttempts = 4;
                resilience.Retry.BackoffType = Polly.DelayBackoffType.Exponential;
                resilience.Retry.UseJitter = true;
                resilience.Retry.Delay = TimeSpan.FromMilliseconds(200);
                resilience.Retry.MaxDelay = TimeSpan.FromSeconds(10);
            });
        }

        return services;
    }

    /// <summary>Signs requests with the agent's own credential (enrolling first if needed).</summary>
    private sealed class CredentialHandler(CredentialStore credentials) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var credential = await credentials.GetAsync(cancellationToken);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Secret);
            return await base.SendAsync(request, cancellationToken);
        }
    }
}

using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Platform.Api.Http;

/// <summary>A fixed window per token; 429 problem with Retry-After when it is used up. Every response says the budget.</summary>
public static class RateLimiting
{
    public static IServiceCollection AddPlatformRateLimiting(this IServiceCollection services)
    {
        services.AddCheckedOptions<RateLimitOptions>(RateLimitOptions.Section, options => options.PermitsPerMinute > 0
            ? [] : [$"{RateLimitOptions.Section}:PermitsPerMinute must be positive."]);
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<RateLimitOptions>((limiter, options) =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                RateLimitPartition.GetFixedWindowLimiter(PartitionKey(http), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.PermitsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var http = context.HttpContext;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests.",
                        Detail = $"This token may make {options.PermitsPerMinute} requests a minute. Retry after {seconds} seconds.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>Says the budget on every response (X-RateLimit-Limit), then applies it. Runs after authentication.</summary>
    public static IApplicationBuilder UsePlatformRateLimiting(this IApplicationBuilder app)
    {
        var limit = app.ApplicationServices.GetRequiredService<RateLimitOptions>().PermitsPerMinute.ToString(CultureInfo.InvariantCulture);
        app.Use((http, next) =>
        {
            http.Response.Headers["X-RateLimit-Limit"] = limit;
            return next(http);
        });
        return app.UseRateLimiter();
    }

    private static string PartitionKey(HttpContext http) =>
        http.User.FindFirstValue(PlatformClaims.TokenId) is { } tokenId
            ? "token:" + tokenId
            : "address:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
}

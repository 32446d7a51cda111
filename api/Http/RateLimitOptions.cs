namespace Platform.Api.Http;

/// <summary>Bound from <c>Platform:RateLimit</c>.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Platform:RateLimit";

    /// <summary>Requests per token per minute (anonymous callers share one budget per address).</summary>
    public int PermitsPerMinute { get; set; } = 600;
}

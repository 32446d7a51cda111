namespace Platform.Api.Http;

/// <summary>Bound from <c>Platform:Limits</c>. Documented in openapi.yaml; change both together.</summary>
public sealed class RequestLimits
{
    public const string Section = "Platform:Limits";

    /// <summary>Largest request body Kestrel accepts; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

public static class RequestLimitsSetup
{
    /// <summary>Kestrel enforces the body limit (413) before anything reads the body.</summary>
    public static IWebHostBuilder UsePlatformRequestLimits(this IWebHostBuilder webHost, IConfiguration configuration)
    {
        var limits = configuration.GetSection(RequestLimits.Section).Get<RequestLimits>() ?? new RequestLimits();
        return webHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes);
    }
}

namespace Platform.Api.Http;

public static class RequestLimitsSetup
{
    /// <summary>Kestrel enforces the body limit (413) before anything reads the body.</summary>
    public static IWebHostBuilder UsePlatformRequestLimits(this IWebHostBuilder webHost, IConfiguration configuration)
    {
        var limits = configuration.GetSection(RequestLimits.Section).Get<RequestLimits>() ?? new RequestLimits();
        return webHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes);
    }
}

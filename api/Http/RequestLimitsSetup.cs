using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Platform.Api.Http;

public static class RequestLimitsSetup
{
    /// <summary>Kestrel enforces the body limit (413) before anything reads the body.</summary>
    public static IWebHostBuilder UsePlatformRequestLimits(this IWebHostBuilder webHost, IConfiguration configuration) =>
        webHost.ConfigureServices(services => services
            .AddCheckedOptions<RequestLimits>(RequestLimits.Section, limits => limits.MaxRequestBodyBytes > 0
                ? [] : [$"{RequestLimits.Section}:MaxRequestBodyBytes must be more than 0."])
            .AddOptions<KestrelServerOptions>()
            .Configure(kestrel =>
            {
                // Kestrel's options are made with the WebApplication, before the start-up checks (Hosting/StartupChecks.cs):
                // a limit that cannot work is left for them to name in one line.
                if (Bound(configuration) is { MaxRequestBodyBytes: > 0 } limits)
                    kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBodyBytes;
            }));

    private static RequestLimits? Bound(IConfiguration configuration)
    {
        try
        {
            return configuration.GetSection(RequestLimits.Section).Get<RequestLimits>() ?? new RequestLimits();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}

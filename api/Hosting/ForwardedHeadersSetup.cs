using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Platform.Api.Hosting;

/// <summary>X-Forwarded-For and X-Forwarded-Proto from the proxies <see cref="ForwardedHeadersSettings"/> names, and from no one else.</summary>
public static class ForwardedHeadersSetup
{
    public static IServiceCollection AddPlatformForwardedHeaders(this IServiceCollection services)
    {
        services.AddCheckedOptions<ForwardedHeadersSettings>(ForwardedHeadersSettings.Section, settings => settings.Problems());
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ForwardedHeadersSettings>>((forwarded, settings) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.ForwardLimit = settings.Value.ForwardLimit;
            // The framework believes loopback by default; here only what is configured is believed.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in settings.Value.Networks())
                forwarded.KnownIPNetworks.Add(network);
        });
        return services;
    }

    /// <summary>First, so that everything after (rate limits per address, the scheme) sees the client, not the proxy.</summary>
    public static IApplicationBuilder UsePlatformForwardedHeaders(this IApplicationBuilder app) =>
        app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersSettings>>().Value.Enabled ? app.UseForwardedHeaders() : app;
}

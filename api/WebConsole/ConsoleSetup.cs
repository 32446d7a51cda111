namespace Platform.Api.WebConsole;

/// <summary>
/// Incident Explorer (console/) is served here, at /console, by the api itself: its files are the WebAssembly app's
/// static web assets, and every other path under /console is the app's index.html, so a deep link pasted into a
/// ticket opens the page it names. `/` sends people to it. The app is a client of the public API like any other:
/// nothing here is an endpoint for the console alone.
/// </summary>
public static class ConsoleSetup
{
    public const string BasePath = "/console";

    /// <summary>
    /// The console's files are found where the build left them in every environment (a publish copies them into
    /// wwwroot). Only the files the build listed are served: without the setting, a build's asset manifest also maps a
    /// catch-all GET route for files added later, which would turn a POST to an unknown path into a 405.
    /// </summary>
    public static WebApplicationBuilder AddPlatformConsole(this WebApplicationBuilder builder)
    {
        builder.WebHost.UseStaticWebAssets();
        builder.Configuration.AddInMemoryCollection(
        [
            new("DisableStaticAssetNotFoundRuntimeFallback", "true"),
            // Serve the files as the build wrote them, with the compressed copies it made and their cache headers; at runtime
            // a build would be re-read and re-gzipped at no compression on every request (24 MiB on the wire, not 10).
            new("ReloadStaticAssetsAtRuntime", "false"),
        ]);
        return builder;
    }

    public static WebApplication MapPlatformConsole(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(BasePath))
                AddSecurityHeaders(context.Response.Headers);
            await next(context);
        });
        // The rate limit is the API's budget; the app's files are not calls to it (one boot fetches some 200 of them, so
        // counted, a person reloading the console three times in a minute would be refused its own files).
        app.MapStaticAssets().ExcludeFromDescription().AllowAnonymous().DisableRateLimiting();
        app.MapGet("/", () => Results.Redirect(BasePath + "/", permanent: false)).ExcludeFromDescription().AllowAnonymous().DisableRateLimiting();
        app.MapFallbackToFile(BasePath + "/{*path:nonfile}", "console/index.html").ExcludeFromDescription().AllowAnonymous().DisableRateLimiting();
        return app;
    }

    /// <summary>
    /// Scripts only from this origin, WebAssembly compiled by the browser, no plug-ins, no framing, and calls only back to
    /// this API. index.html has no inline script, so none is allowed: an inline script added to it is refused by the
    /// browser (and fails the browser tests, which fail on any CSP violation).
    /// </summary>
    private static readonly string ContentSecurityPolicy = string.Join("; ",
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'");

    private static void AddSecurityHeaders(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()";
    }

}

using Platform.Tests.Infrastructure;

namespace Platform.Tests.WebConsole;

/// <summary>
/// The real api on real Kestrel (a port of its own) for a browser: Chromium cannot reach the in-memory TestServer.
/// It serves the console's build output at /console exactly as a deployed api does (static web assets, CSP and all),
/// and its API answers the console's calls; <see cref="PlatformApi.AssertServedToTheSpec"/> checks those calls
/// against openapi.yaml, since the test holds no client for them.
/// </summary>
public sealed class ConsoleApi : SqliteApi
{
    public ConsoleApi() => UseKestrel(0);

    /// <summary>A boot fetches some 200 files: their "Sending file" lines would bury the request log in a test's output.</summary>
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Microsoft.AspNetCore.StaticAssets"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore.StaticFiles"] = "Warning",
    };

    private Uri? _origin;

    /// <summary>Where the browser goes: the api's origin, e.g. http://127.0.0.1:41234/ (the server starts on first use).</summary>
    public Uri Origin
    {
        get
        {
            if (_origin is null)
            {
                using var http = Http();
                _origin = http.BaseAddress!;
            }

            return _origin;
        }
    }

    /// <summary>A plain client of the api's origin that follows no redirect and checks nothing: to see what a browser is sent.</summary>
    public HttpClient PlainHttp() => new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None }) { BaseAddress = Origin };
}

using System.Net;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Operations;

/// <summary>Behind a reverse proxy on loopback, the api on real Kestrel with two anonymous requests a minute per address.</summary>
public sealed class ProxiedApi : SqliteApi
{
    public ProxiedApi() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Platform:RateLimit:PermitsPerMinute"] = "2",
        ["Platform:ForwardedHeaders:KnownProxies:0"] = "127.0.0.0/8",
        ["Platform:ForwardedHeaders:KnownProxies:1"] = "::1",
    };
}

/// <summary>The same, with no proxy configured (the default).</summary>
public sealed class UnproxiedApi : SqliteApi
{
    public UnproxiedApi() => UseKestrel(0);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Platform:RateLimit:PermitsPerMinute"] = "2" };
}

/// <summary>
/// X-Forwarded-For is believed from the configured proxies only: from one, each client it names has its own
/// per-address budget; from anyone else (the default) the header changes nothing.
/// </summary>
public sealed class ForwardedHeadersTests(ProxiedApi proxied, UnproxiedApi unproxied) : IClassFixture<ProxiedApi>, IClassFixture<UnproxiedApi>
{
    [Fact]
    public async Task From_a_known_proxy_each_forwarded_client_has_its_own_budget()
    {
        var statuses = await AnonymousRequests(proxied, "198.51.100.1", "198.51.100.2", "198.51.100.3");
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));

        // The header is what counts: one client named three times has one budget.
        var same = await AnonymousRequests(proxied, "198.51.100.9", "198.51.100.9", "198.51.100.9");
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], same);
    }

    [Fact]
    public async Task Without_a_configured_proxy_the_header_changes_nothing()
    {
        var statuses = await AnonymousRequests(unproxied, "198.51.100.1", "198.51.100.2", "198.51.100.3");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    private static async Task<List<HttpStatusCode>> AnonymousRequests(PlatformApi api, params string[] forwardedFor)
    {
        // A plain client: the spec-checking one would take a 429 from the health probe as a contract break.
        using var http = new HttpClient { BaseAddress = api.Http().BaseAddress };
        var statuses = new List<HttpStatusCode>();
        foreach (var client in forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/health");
            request.Headers.Add("X-Forwarded-For", client);
            using var response = await http.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }
}

using System.Net;

namespace Platform.Api.Hosting;

/// <summary>
/// Bound from <c>Platform:ForwardedHeaders</c>: the reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are
/// believed. None by default: a client that sends these headers straight to the API changes nothing (its address is
/// still what per-address rate limits count).
/// </summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "Platform:ForwardedHeaders";

    /// <summary>Proxy addresses or networks (<c>10.0.0.5</c>, <c>10.0.0.0/8</c>, <c>::1</c>).</summary>
    public string[] KnownProxies { get; set; } = [];

    /// <summary>How many proxies in a row to believe, counting from the API.</summary>
    public int ForwardLimit { get; set; } = 1;

    public bool Enabled => KnownProxies.Length > 0;

    public IEnumerable<IPNetwork> Networks() => KnownProxies.Select(Parse).OfType<IPNetwork>();

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        foreach (var proxy in KnownProxies.Where(p => Parse(p) is null))
            yield return $"{Section}:KnownProxies: '{proxy}' is not an IP address or a CIDR network (e.g. 10.0.0.0/8).";
        if (ForwardLimit < 1)
            yield return $"{Section}:ForwardLimit must be at least 1.";
    }

    private static IPNetwork? Parse(string proxy) =>
        IPNetwork.TryParse(proxy, out var network) ? network
        : IPAddress.TryParse(proxy, out var address) ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
        : null;
}

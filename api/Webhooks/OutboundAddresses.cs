using System.Net;
using System.Net.Sockets;

namespace Platform.Api.Webhooks;

/// <summary>
/// Server-side request forgery protection for webhooks: which addresses the API may send to. Checked on the URL
/// when a subscription is saved (a clear 400) and again on every address a name resolves to when connecting (so
/// a name that resolves somewhere else later, DNS rebinding, is refused too), and the connection goes to the
/// address that was checked.
/// </summary>
public sealed class OutboundAddresses(WebhookOptions options)
{
    public const string RefusedPrefix = "Refused to connect to";

    private readonly IReadOnlyList<IPNetwork> _allowed = options.Allowed();

    private static readonly IPNetwork[] Internal =
    [
        IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"), IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("224.0.0.0/4"), IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("ff00::/8"),
        IPNetwork.Parse("64:ff9b::/96"), IPNetwork.Parse("2001:db8::/32"),
    ];

    /// <summary>Why the API may not send to <paramref name="address"/>, or null when it may.</summary>
    public string? Refusal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (_allowed.Any(n => n.Contains(address)))
            return null;
        foreach (var network in Internal)
        {
            if (network.Contains(address))
                return $"{address} is an internal address ({network}): loopback, private, link-local (cloud metadata) and similar networks are refused";
        }

        return null;
    }

    /// <summary>Why the URL is unusable as a webhook, or null. Literal addresses in any notation are judged here; names when they resolve.</summary>
    public string? UrlProblem(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return "must be an absolute http or https URL";
        if (!string.IsNullOrEmpty(uri.UserInfo))
            return "must not carry credentials (user:password@)";
        if (uri.IsLoopback || uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return Literal(uri) is { } loopback && Refusal(loopback) is null ? null : "must not point at this machine (loopback)";
        // Uri reads 2130706433, 0x7f000001 and 0177.0.0.1 as 127.0.0.1, and [::ffff:127.0.0.1] as what it is.
        return Literal(uri) is { } address && Refusal(address) is { } refusal ? $"must not point at an internal address: {refusal}" : null;
    }

    private static IPAddress? Literal(Uri uri) =>
        uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 && IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address) ? address : null;

    /// <summary>Connects to the first address of the host that is allowed; refuses if none is.</summary>
    public async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, CancellationToken cancellationToken)
    {
        var host = endpoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var refusals = addresses.Select(a => (Address: a, Refusal: Refusal(a))).ToList();
        // Every address must pass: a name that mixes public and internal addresses is refused as a whole.
        var refusal = refusals.Count == 0 ? "it has no address" : refusals.Select(r => r.Refusal).FirstOrDefault(r => r is not null);
        if (refusal is not null)
            throw new HttpRequestException($"{RefusedPrefix} {host}: {refusal}.");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(refusals[0].Address, endpoint.Port), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

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

    /// <summary>
    /// Prefixes whose packets leave through a translator or tunnel to wherever the embedding says; their IPv4
    /// cannot be judged from here (local-use NAT64 places it per network, Teredo obfuscates the client's), so they
    /// are refused whole unless allowed.
    /// </summary>
    private static readonly IPNetwork[] Tunnels = [IPNetwork.Parse("64:ff9b:1::/48"), IPNetwork.Parse("2001::/32")];

    /// <summary>Why the API may not send to <paramref name="address"/>, or null when it may.</summary>
    public string? Refusal(IPAddress address)
    {
        // Judged by the IPv4 address the packets actually reach when the IPv6 address embeds one.
        var reached = EmbeddedIPv4(address) ?? address;
        if (_allowed.Any(n => n.Contains(address) || n.Contains(reached)))
            return null;
        foreach (var network in Tunnels)
        {
            if (network.Contains(address))
                return $"{address} is in {network} (local-use NAT64 or Teredo), which reaches IPv4 addresses that cannot be checked";
        }

        foreach (var network in Internal)
        {
            if (network.Contains(reached))
                return reached.Equals(address)
                    ? $"{address} is an internal address ({network}): loopback, private, link-local (cloud metadata) and similar networks are refused"
                    : $"{address} reaches {reached}, an internal address ({network}): loopback, private, link-local (cloud metadata) and similar networks are refused";
        }

        return null;
    }

    /// <summary>
    /// The IPv4 address an IPv6 one stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d),
    /// IPv4-compatible (::a.b.c.d), 6to4 (2002:aabb:ccdd::/48) and well-known NAT64 (64:ff9b::a.b.c.d).
    /// </summary>
    public static IPAddress? EmbeddedIPv4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return null;
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        var last = b[12..];
        if (b[..10].IndexOfAnyExcept((byte)0) < 0)
        {
            // ::ffff:a.b.c.d, ::a.b.c.d (but not :: and ::1, which are judged as they are)
            if (b[10] == 0xff && b[11] == 0xff)
                return new IPAddress(last);
            if (b[10] == 0 && b[11] == 0 && (last[0] | last[1]) != 0)
                return new IPAddress(last);
            return null;
        }

        if (b[..8].IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
            return new IPAddress(last);
        if (b[0] == 0x20 && b[1] == 0x02)
            return new IPAddress(b[2..6]);
        if (b[..12].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))
            return new IPAddress(last);
        return null;
    }

    /// <summary>Why the URL is unusable as a webhook, or null. Literal addresses in any notation are judged here; names when they resolve.</summary>
    public string? UrlProblem(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return "must be an absolute http or https URL";
        if (!string.IsNullOrEmpty(uri.UserInfo))
            return "must not carry credentials (user:password@)";
        // Forms that name one host here and another to a resolver or a parser elsewhere.
        if (uri.Host.EndsWith('.') || uri.IdnHost.EndsWith('.'))
            return "must not end the host name with a dot";
        foreach (var c in Authority(url))
        {
            if (c > 0x7f && char.IsDigit(c))
                return "must write digits in the host as ASCII digits";
        }

        if (uri.IsLoopback || uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return Literal(uri) is { } loopback && Refusal(loopback) is null ? null : "must not point at this machine (loopback)";
        // Uri reads 2130706433, 0x7f000001 and 0177.0.0.1 as 127.0.0.1, and [::ffff:127.0.0.1] as what it is.
        return Literal(uri) is { } address && Refusal(address) is { } refusal ? $"must not point at an internal address: {refusal}" : null;
    }

    /// <summary>The authority as written, before Uri maps full-width digits and dots to ASCII ones.</summary>
    private static ReadOnlySpan<char> Authority(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) is var i and >= 0 ? i + 3 : 0;
        var rest = url.AsSpan(start);
        var end = rest.IndexOfAny('/', '?', '#');
        return end < 0 ? rest : rest[..end];
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

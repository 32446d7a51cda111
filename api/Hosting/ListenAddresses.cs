using System.Net;
using System.Net.Sockets;

namespace Platform.Api.Hosting;

/// <summary>
/// The addresses Kestrel will listen on, read as Kestrel reads them (<c>Kestrel:Endpoints</c>, else <c>urls</c>:
/// <c>--urls</c> or <c>ASPNETCORE_URLS</c>, else <c>http_ports</c>/<c>https_ports</c>, else http://localhost:5000),
/// and a try at binding each TCP one before anything is made: a port another process holds is named in one line
/// instead of ending a start, after the database was made, in Kestrel's stack trace.
/// </summary>
public static class ListenAddresses
{
    public const string DefaultUrl = "http://localhost:5000";

    public static IReadOnlyList<string> Configured(IConfiguration configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>().ToList();
        if (endpoints.Count > 0)
            return endpoints;
        if (Split(configuration["urls"]) is { Count: > 0 } urls)
            return urls;
        var ports = Split(configuration["http_ports"]).Select(p => $"http://*:{p}")
            .Concat(Split(configuration["https_ports"]).Select(p => $"https://*:{p}")).ToList();
        return ports.Count > 0 ? ports : [DefaultUrl];
    }

    /// <summary>One line for each configured address that cannot be listened on.</summary>
    public static IEnumerable<string> Problems(IConfiguration configuration)
    {
        foreach (var url in Configured(configuration))
        {
            if (Parse(url) is not { } address)
            {
                yield return $"Listen address '{url}' is not a URL such as http://localhost:5000 or http://0.0.0.0:8080.";
                continue;
            }

            // A Unix socket is checked by Kestrel itself; port 0 is whatever is free.
            if (address.IsUnixPipe || address.Port == 0)
                continue;
            if (Refusal(address) is { } refusal)
                yield return $"Cannot listen on {url}: {refusal} (choose another address with --urls, ASPNETCORE_URLS or Kestrel:Endpoints; README.md, \"Ports\").";
        }
    }

    private static string? Refusal(BindingAddress address)
    {
        if (string.Equals(address.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel listens on both loopbacks and fails if either port is taken.
            return Refusal(new IPEndPoint(IPAddress.Loopback, address.Port)) ?? Refusal(new IPEndPoint(IPAddress.IPv6Loopback, address.Port), onlyInUse: true);
        }

        if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
            return Refusal(new IPEndPoint(ip, address.Port));

        // *, + or a host name: Kestrel listens on every address, IPv6 and IPv4 together where it can.
        return Socket.OSSupportsIPv6
            ? Refusal(new IPEndPoint(IPAddress.IPv6Any, address.Port))
            : Refusal(new IPEndPoint(IPAddress.Any, address.Port));
    }

    private static string? Refusal(IPEndPoint endpoint, bool onlyInUse = false)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(endpoint);
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return $"port {endpoint.Port} is in use by another process";
        }
        catch (SocketException e) when (!onlyInUse)
        {
            return e.SocketErrorCode == SocketError.AccessDenied
                ? $"port {endpoint.Port} needs privileges this process does not have"
                : e.Message;
        }
        catch (SocketException)
        {
            return null; // no IPv6 loopback here: Kestrel does without it too
        }
    }

    private static BindingAddress? Parse(string url)
    {
        try
        {
            return BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static List<string> Split(string? list) =>
        list?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList() ?? [];
}

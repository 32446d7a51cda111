using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Platform.Api.Hosting;

namespace Platform.Tests.Operations;

/// <summary>Where the start-up check looks for a taken port: where Kestrel will listen, read as Kestrel reads it.</summary>
public sealed class ListenAddressesTests
{
    [Fact]
    public void Kestrel_endpoints_win_over_urls_which_win_over_ports_and_the_default_is_loopback_5000()
    {
        Assert.Equal(["https://0.0.0.0:8443"], ListenAddresses.Configured(Settings(("Kestrel:Endpoints:Https:Url", "https://0.0.0.0:8443"), ("urls", "http://127.0.0.1:1"))));
        Assert.Equal(["http://127.0.0.1:8080", "http://[::1]:8080"], ListenAddresses.Configured(Settings(("urls", "http://127.0.0.1:8080; http://[::1]:8080"), ("http_ports", "9000"))));
        Assert.Equal(["http://*:9000", "https://*:9443"], ListenAddresses.Configured(Settings(("http_ports", "9000"), ("https_ports", "9443"))));
        Assert.Equal([ListenAddresses.DefaultUrl], ListenAddresses.Configured(Settings()));
    }

    [Fact]
    public void A_taken_port_is_named_and_a_free_one_or_a_socket_is_not()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var problem = Assert.Single(ListenAddresses.Problems(Settings(("urls", $"http://127.0.0.1:{port};http://127.0.0.1:0;http://unix:/tmp/x.sock"))));
        Assert.Contains($"port {port} is in use", problem, StringComparison.Ordinal);
        Assert.Single(ListenAddresses.Problems(Settings(("urls", $"http://localhost:{port}"))));
        Assert.Single(ListenAddresses.Problems(Settings(("urls", $"http://*:{port}"))));

        taken.Stop();
        Assert.Empty(ListenAddresses.Problems(Settings(("urls", $"http://127.0.0.1:{port}"))));
    }

    [Fact]
    public void An_address_that_is_not_a_url_is_named()
    {
        Assert.Contains("'8080' is not a URL", Assert.Single(ListenAddresses.Problems(Settings(("urls", "8080")))), StringComparison.Ordinal);
    }

    private static IConfiguration Settings(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Platform.Contracts;

namespace Platform.Tests.Sensor;

/// <summary>
/// The kernel sensor's network records, from real processes (perl, curl) on this machine: every connect with its
/// result, accepted connections, listening sockets, DNS queries, and connects made in another network namespace.
/// Each test looks only at its own processes and ports.
/// </summary>
[Collection(KernelSensorCollection.Name)]
public sealed class NetworkSensorTests(KernelSensorFixture sensor)
{
    [Fact]
    public async Task A_blocking_connect_is_reported_connected_to_a_listener_and_refused_by_a_closed_port()
    {
        using var listener = Listen(IPAddress.Loopback);
        var open = await Perl.Run(Perl.Connect, $"127.0.0.1:{Port(listener)}");
        var closed = ClosedPort(IPAddress.Loopback);
        var refused = await Perl.Run(Perl.Connect, $"127.0.0.1:{closed}");

        var connected = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == open && e.RemotePort == Port(listener), "perl's connect");
        Assert.Equal((NetworkProtocol.Tcp, "127.0.0.1", NetworkDirection.Outbound, ConnectResult.Connected, "perl"),
            (connected.Protocol, connected.RemoteAddress, connected.Direction, connected.Result, connected.ProcessName));
        Assert.Equal("127.0.0.1", connected.LocalAddress);
        Assert.InRange(connected.LocalPort ?? 0, 1, 65535);
        var failed = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == refused && e.RemotePort == closed, "perl's refused connect");
        Assert.Equal((ConnectResult.Refused, "perl"), (failed.Result, failed.ProcessName));
        Assert.Single(sensor.Seen<NetworkConnectEvent>(e => e.Pid == refused)); // one record per attempt
    }

    [Fact]
    public async Task A_non_blocking_connect_of_curl_is_reported_with_its_final_outcome()
    {
        using var listener = Listen(IPAddress.Loopback);
        var accepting = AcceptAndClose(listener);
        var closed = ClosedPort(IPAddress.Loopback);
        var refused = await Curl($"http://127.0.0.1:{closed}/");
        var reached = await Curl($"http://127.0.0.1:{Port(listener)}/");
        await accepting;

        var failed = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == refused && e.RemotePort == closed, "curl's refused connect");
        Assert.Equal((ConnectResult.Refused, NetworkProtocol.Tcp, "curl"), (failed.Result, failed.Protocol, failed.ProcessName));
        var connected = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == reached && e.RemotePort == Port(listener), "curl's connect");
        Assert.Equal(ConnectResult.Connected, connected.Result);
        Assert.Single(sensor.Seen<NetworkConnectEvent>(e => e.Pid == reached && e.RemotePort == Port(listener))); // the outcome only, not EINPROGRESS too
    }

    [Fact]
    public async Task A_non_blocking_connect_asked_again_until_it_is_made_is_one_attempt()
    {
        using var listener = Listen(IPAddress.Loopback);
        var pid = await Perl.Run(Perl.ConnectPolling, Port(listener).ToString(System.Globalization.CultureInfo.InvariantCulture));

        var connected = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == pid && e.RemotePort == Port(listener), "perl's polled connect");
        Assert.Equal(ConnectResult.Connected, connected.Result);
        Assert.Single(sensor.Seen<NetworkConnectEvent>(e => e.Pid == pid)); // connect(2) asked again (EALREADY, EISCONN) is no new attempt
    }

    [Fact]
    public async Task A_non_blocking_connect_that_opens_simultaneously_is_reported_connected()
    {
        // A socket connected to its own address (bound first) receives its own SYN while in SYN_SENT: a simultaneous
        // open, SYN_SENT -> SYN_RECV -> ESTABLISHED, on loopback inside connect(2), which returns EINPROGRESS. The
        // attempt leaves SYN_SENT for SYN_RECV, not ESTABLISHED or CLOSE, and was waited for until its entry was evicted.
        using var perl = Process.Start(new ProcessStartInfo("perl", ["-MIO::Socket::INET", "-e", Perl.ConnectToItself]) { RedirectStandardOutput = true })!;
        var output = await perl.StandardOutput.ReadToEndAsync();
        await perl.WaitForExitAsync();
        Assert.Equal(0, perl.ExitCode);
        var port = int.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);

        var connected = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == perl.Id && e.RemotePort == port, "perl's connect to itself");
        Assert.Equal((ConnectResult.Connected, "127.0.0.1", port), (connected.Result, connected.LocalAddress, connected.LocalPort));
        Assert.Single(sensor.Seen<NetworkConnectEvent>(e => e.Pid == perl.Id));
    }

    [Fact]
    public async Task An_ipv6_connect_is_reported_with_its_ipv6_addresses()
    {
        using var listener = Listen(IPAddress.IPv6Loopback);
        var accepting = AcceptAndClose(listener);
        var closed = ClosedPort(IPAddress.IPv6Loopback);
        var reached = await Curl($"http://[::1]:{Port(listener)}/");
        var refused = await Curl($"http://[::1]:{closed}/");
        await accepting;

        var connected = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == reached && e.RemotePort == Port(listener), "curl's IPv6 connect");
        Assert.Equal(("::1", "::1", ConnectResult.Connected), (connected.RemoteAddress, connected.LocalAddress, connected.Result));
        var failed = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == refused && e.RemotePort == closed, "curl's refused IPv6 connect");
        Assert.Equal(("::1", ConnectResult.Refused), (failed.RemoteAddress, failed.Result));
    }

    [Fact]
    public async Task A_connected_udp_socket_is_reported_as_a_udp_connect()
    {
        var port = ClosedPort(IPAddress.Loopback);
        var pid = await Perl.Run(Perl.ConnectUdp, $"127.0.0.1:{port}");

        var connect = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == pid && e.RemotePort == port, "perl's UDP connect");
        Assert.Equal((NetworkProtocol.Udp, "127.0.0.1", ConnectResult.Connected, NetworkDirection.Outbound),
            (connect.Protocol, connect.RemoteAddress, connect.Result, connect.Direction));
        Assert.InRange(connect.LocalPort ?? 0, 1, 65535);
    }

    [Fact]
    public async Task A_process_that_listens_and_accepts_is_reported_listening_and_with_the_inbound_connection()
    {
        using var server = Perl.Start(Perl.Serve);
        var port = int.Parse((await server.StandardOutput.ReadLineAsync())!, System.Globalization.CultureInfo.InvariantCulture);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port); // the test process's own connect is not recorded: it is the "agent"
        Assert.Equal("accepted", await server.StandardOutput.ReadLineAsync());
        server.StandardInput.Close();
        await server.WaitForExitAsync();

        var listen = await sensor.WaitFor<NetworkListenEvent>(e => e.Pid == server.Id, "perl's listen");
        Assert.Equal((NetworkProtocol.Tcp, "127.0.0.1", port, "perl"), (listen.Protocol, listen.LocalAddress, listen.LocalPort, listen.ProcessName));
        var inbound = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == server.Id && e.Direction == NetworkDirection.Inbound, "perl's accept");
        Assert.Equal(("127.0.0.1", port, "127.0.0.1", ((IPEndPoint)client.Client.LocalEndPoint!).Port, ConnectResult.Connected),
            (inbound.LocalAddress, inbound.LocalPort, inbound.RemoteAddress, inbound.RemotePort, inbound.Result));
        Assert.Empty(sensor.Seen<NetworkConnectEvent>(e => e.Pid == server.Id && e.Direction != NetworkDirection.Inbound));
    }

    [Fact]
    public async Task A_dns_query_sent_to_port_53_is_reported_with_its_name()
    {
        var name = $"q{Guid.NewGuid():N}.example.test";
        var pid = await Perl.Run(Perl.Query, name);

        var query = await sensor.WaitFor<DnsQueryEvent>(e => e.Pid == pid, "perl's DNS query");
        Assert.Equal((name, "perl"), (query.Name, query.ProcessName));
        Assert.Contains(sensor.Seen<NetworkConnectEvent>(e => e.Pid == pid), e => e.RemotePort == 53 && e.Protocol == NetworkProtocol.Udp);
    }

    [Fact]
    public async Task A_connect_made_in_another_network_namespace_is_reported()
    {
        using var namespace_ = await NetworkNamespace.Create();
        var port = Random.Shared.Next(20_000, 60_000); // nothing listens inside a namespace just made
        var pid = await Run("ip", ["netns", "exec", namespace_.Name, "perl", "-MIO::Socket::INET", "-e", Perl.Connect, $"127.0.0.1:{port}"]);

        var refused = await sensor.WaitFor<NetworkConnectEvent>(e => e.Pid == pid && e.RemotePort == port, "the connect in the namespace");
        Assert.Equal((ConnectResult.Refused, "perl", "127.0.0.1"), (refused.Result, refused.ProcessName, refused.RemoteAddress));
    }

    private static TcpListener Listen(IPAddress address)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        return listener;
    }

    private static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>A port nothing listens on: one the kernel gave a listener, closed again.</summary>
    private static int ClosedPort(IPAddress address)
    {
        using var listener = Listen(address);
        var port = Port(listener);
        listener.Stop();
        return port;
    }

    private static async Task AcceptAndClose(TcpListener listener)
    {
        using var accepted = await listener.AcceptTcpClientAsync();
        await accepted.GetStream().WriteAsync("HTTP/1.0 204 No Content\r\n\r\n"u8.ToArray());
    }

    /// <summary>curl, which connects non-blocking (EINPROGRESS, then poll); its pid.</summary>
    private static Task<int> Curl(string url) => Run("curl", ["-s", "-o", "/dev/null", "--max-time", "30", url]);

    private static async Task<int> Run(string file, IEnumerable<string> args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await process.WaitForExitAsync();
        return process.Id;
    }

    /// <summary>Small perl programs (IO::Socket::INET: blocking sockets unless told otherwise).</summary>
    private static class Perl
    {
        public const string Connect = "IO::Socket::INET->new(PeerAddr => $ARGV[0], Proto => 'tcp')";
        public const string ConnectPolling =
            "use Socket; use IO::Handle; socket(my $s, PF_INET, SOCK_STREAM, 0) or die $!; $s->blocking(0);"
            + " my $to = sockaddr_in($ARGV[0], inet_aton('127.0.0.1'));"
            + " until (connect($s, $to) || $!{EISCONN}) { die $! unless $!{EINPROGRESS} || $!{EALREADY}; select(undef, undef, undef, 0.001) }"
            + " connect($s, $to);";
        public const string ConnectToItself =
            "use Socket; use IO::Handle; socket(my $s, PF_INET, SOCK_STREAM, 0) or die $!;"
            + " bind($s, sockaddr_in(0, inet_aton('127.0.0.1'))) or die $!; my ($port) = sockaddr_in(getsockname($s)); $s->blocking(0);"
            + " my $to = sockaddr_in($port, inet_aton('127.0.0.1'));"
            + " until (connect($s, $to) || $!{EISCONN}) { die $! unless $!{EINPROGRESS} || $!{EALREADY}; select(undef, undef, undef, 0.001) }"
            + " print \"$port\\n\";";
        public const string ConnectUdp = "IO::Socket::INET->new(PeerAddr => $ARGV[0], Proto => 'udp') or die $!";
        public const string Serve =
            "$| = 1; $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, Proto => 'tcp') or die $!;"
            + " print $s->sockport, \"\\n\"; $c = $s->accept or die $!; print \"accepted\\n\"; <STDIN>;";
        public const string Query =
            "$s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:53', Proto => 'udp') or die $!;"
            + " $q = pack('nnnnnn', 0x1234, 0x0100, 1, 0, 0, 0) . join('', map { chr(length) . $_ } split /\\./, $ARGV[0]) . \"\\0\" . pack('nn', 1, 1);"
            + " defined $s->send($q) or die $!;";

        public static Task<int> Run(string program, string argument) => NetworkSensorTests.Run("perl", ["-MIO::Socket::INET", "-e", program, argument]);

        public static Process Start(string program) =>
            Process.Start(new ProcessStartInfo("perl", ["-MIO::Socket::INET", "-e", program]) { RedirectStandardOutput = true, RedirectStandardInput = true })!;
    }
}

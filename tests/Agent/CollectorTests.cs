using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent;
using Platform.Agent.Collectors;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>The flight-data collectors: parsing what /proc says, and real scans of this machine.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CollectorTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("collector-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    [Fact]
    public void A_process_name_with_spaces_and_parentheses_is_read_whole_from_stat()
    {
        var stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000000 100 18446744073709551615";
        Assert.Equal(("my (odd) name", 1, 123456L), ProcFs.ParseStat(stat));
        Assert.Null(ProcFs.ParseStat("garbage"));
    }

    [Theory]
    [InlineData("0100007F:1F90", "127.0.0.1", 8080)]
    [InlineData("0A00030A:0CEA", "10.3.0.10", 3306)]
    [InlineData("00000000000000000000000001000000:0050", "::1", 80)]
    [InlineData("0000000000000000FFFF00000100007F:1F90", "127.0.0.1", 8080)]
    [InlineData("B80D0120000000000000000001000000:01BB", "2001:db8::1", 443)]
    public void Socket_addresses_are_read_as_the_kernel_writes_them(string text, string address, int port) =>
        Assert.Equal((IPAddress.Parse(address), port), ProcFs.Endpoint(text));

    [Theory]
    [InlineData("12:pids:/docker/0f3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708", "0f3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708")]
    [InlineData("0::/system.slice/docker-0f3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708.scope", "0f3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708")]
    [InlineData("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-aa3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708.scope", "aa3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708")]
    [InlineData("0::/machine.slice/libpod-bb3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708.scope/container", "bb3a2b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708")]
    [InlineData("0::/user.slice/user-1000.slice/session-2.scope", null)]
    [InlineData("0::/", null)]
    public void The_container_of_a_process_is_found_in_its_cgroup(string line, string? container) => Assert.Equal(container, ProcFs.ContainerId([line]));

    [Fact]
    public async Task A_process_started_after_the_first_scan_is_reported_with_its_arguments_parent_and_start_time_and_its_exit_too()
    {
        var collector = Collector();
        collector.Scan(); // the baseline: nothing that runs already is "started"
        var before = DateTimeOffset.UtcNow;
        using var sleep = Process.Start("sleep", ["30"]);

        var started = collector.Scan().OfType<ProcessStartEvent>().Single(e => e.Pid == sleep.Id);
        Assert.Equal(("sleep", Environment.ProcessId), (started.ProcessName, started.Ppid));
        Assert.Equal(["sleep", "30"], started.Args);
        Assert.EndsWith("/sleep", started.Executable, StringComparison.Ordinal);
        Assert.Equal(Directory.GetCurrentDirectory(), started.Cwd);
        Assert.InRange(started.Time, before.AddSeconds(-2), DateTimeOffset.UtcNow.AddSeconds(1)); // the kernel's start time (100 Hz ticks)
        Assert.NotNull(started.Uid);

        sleep.Kill();
        await sleep.WaitForExitAsync();
        Assert.Contains(collector.Scan().OfType<ProcessExitEvent>(), e => e.Pid == sleep.Id && e.ProcessName == "sleep");
    }

    [Fact]
    public async Task A_socket_listening_and_a_connection_out_are_reported_with_the_process_that_holds_them()
    {
        var collector = Collector();
        collector.Scan();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var listen = collector.Scan().OfType<NetworkListenEvent>().Single(e => e.LocalPort == port);
        Assert.Equal((NetworkProtocol.Tcp, "127.0.0.1", Environment.ProcessId), (listen.Protocol, listen.LocalAddress, listen.Pid));

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        using var accepted = await listener.AcceptTcpClientAsync();
        var connects = collector.Scan().OfType<NetworkConnectEvent>().Where(e => e.RemotePort == port || e.LocalPort == port).ToList();
        var connect = Assert.Single(connects); // the way out, not the connection accepted on the listening port
        Assert.Equal(("127.0.0.1", port, Environment.ProcessId), (connect.RemoteAddress, connect.RemotePort, connect.Pid));
        Assert.Equal(((IPEndPoint)client.Client.LocalEndPoint!).Port, connect.LocalPort);
        Assert.DoesNotContain(collector.Scan().OfType<NetworkConnectEvent>(), e => e.RemotePort == port); // reported once
    }

    private FlightDataCollector Collector() =>
        new(new Spool(Path.Combine(_state, "spool"), 1 << 20), new AgentOptions { StateDirectory = _state }, TimeProvider.System, NullLogger<FlightDataCollector>.Instance);
}

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

    [Fact]
    public async Task With_the_kernels_process_events_a_process_too_short_for_a_scan_is_seen_with_its_exit_code()
    {
        using var spool = new Spool(Path.Combine(_state, "kernel-spool"), 16 << 20);
        var collector = new FlightDataCollector(spool, new AgentOptions { StateDirectory = _state, CollectorMilliseconds = 60_000 }, TimeProvider.System, NullLogger<FlightDataCollector>.Instance);
        await collector.StartAsync(CancellationToken.None);
        try
        {
            await AgentTestSupport.Until(() => collector.Scans >= 1, "the baseline");
            if (collector.Mode != AgentProcessEvents.Netlink)
            {
                // Not allowed to listen to the kernel here (no CAP_NET_ADMIN): it says so, and scans instead.
                Assert.Equal(AgentProcessEvents.ProcPoll, collector.Mode);
                Assert.Contains("CAP_NET_ADMIN", collector.NoConnectorReason, StringComparison.Ordinal);
                return;
            }

            using var quick = Process.Start("sh", ["-c", "exit 3"]); // gone long before the next scan (a minute away)
            await quick.WaitForExitAsync();
            var seen = new List<TelemetryEvent>();
            await AgentTestSupport.Until(() =>
            {
                while (spool.Telemetry.Take(500, 1 << 20) is { } batch)
                {
                    seen.AddRange(batch.Records.Select(r => System.Text.Json.JsonSerializer.Deserialize<TelemetryEvent>(r, Spool.Json)!));
                    spool.Telemetry.Acknowledge(batch);
                }

                return seen.OfType<ProcessExitEvent>().Any(e => e.Pid == quick.Id);
            }, "the exit of the short process");
            Assert.Equal(3, seen.OfType<ProcessExitEvent>().Single(e => e.Pid == quick.Id).ExitCode);
        }
        finally
        {
            await collector.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void A_kernel_exit_event_gives_the_exit_code_or_the_signal_as_shells_do()
    {
        byte[] Exit(int pid, int tgid, int status)
        {
            var e = new byte[40];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e, 0x80000000);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(16), pid);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(20), tgid);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(e.AsSpan(24), status);
            return e;
        }

        Assert.Equal(3, ProcConnector.Parse(Exit(42, 42, 3 << 8))!.Value.ExitCode);
        Assert.Equal(137, ProcConnector.Parse(Exit(42, 42, 9))!.Value.ExitCode); // SIGKILL
        Assert.Null(ProcConnector.Parse(Exit(43, 42, 0))); // a thread, not the process
    }

    private FlightDataCollector Collector() =>
        new(new Spool(Path.Combine(_state, "spool"), 1 << 20), new AgentOptions { StateDirectory = _state }, TimeProvider.System, NullLogger<FlightDataCollector>.Instance);
}

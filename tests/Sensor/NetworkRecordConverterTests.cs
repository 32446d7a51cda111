using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent;
using Platform.Agent.Collectors;
using Platform.Agent.Delivery;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Sensor;

/// <summary>The network records as the agent reads them (no kernel needed): bytes laid out as network.bpf.h writes them.</summary>
public sealed class NetworkRecordConverterTests : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("network-records-").FullName;

    public void Dispose() => Directory.Delete(_state, recursive: true);

    private static byte[] Bytes<T>(T record) where T : struct => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref record)).ToArray();

    private static List<TelemetryEvent> Convert(byte[] record, ProcessTable? processes = null)
    {
        var events = new List<TelemetryEvent>();
        var converter = new NetworkRecordConverter(processes ?? new ProcessTable(), new SensorState(AgentSensorMode.Ebpf, null));
        Assert.True(converter.TryConvert(RecordHeader.Of(record), record, events));
        return events;
    }

    private static ConnectRecord Connect(ushort kind, ushort family, byte result, int error = 0)
    {
        var record = new ConnectRecord { Family = family, Protocol = AddressFamilies.Tcp, LocalPort = 40000, RemotePort = 443, Result = result, Error = error };
        record.Header.Kind = kind;
        record.Header.Size = (ushort)Marshal.SizeOf<ConnectRecord>();
        record.Header.Tgid = 4242;
        return record;
    }

    [Fact]
    public void The_records_have_the_layout_of_the_kernels_structs()
    {
        Assert.Equal(96, Marshal.SizeOf<ConnectRecord>());
        Assert.Equal(72, Marshal.SizeOf<ListenRecord>());
        Assert.Equal(592, Marshal.SizeOf<DnsRecord>());
        Assert.Equal(72, Marshal.SizeOf<FileOpenRecord>());
    }

    [Theory]
    [InlineData(0, ConnectResult.Connected)]
    [InlineData(1, ConnectResult.Refused)]
    [InlineData(2, ConnectResult.TimedOut)]
    [InlineData(3, ConnectResult.Unreachable)]
    [InlineData(4, ConnectResult.Failed)]
    [InlineData(5, ConnectResult.InProgress)]
    [InlineData(77, ConnectResult.Failed)]
    public void A_connect_carries_the_result_the_kernel_gave(byte result, ConnectResult expected)
    {
        var record = Connect(ConnectRecord.OutboundKind, AddressFamilies.Inet, result);
        IPAddress.Parse("10.1.2.3").TryWriteBytes(record.RemoteAddress, out _);
        IPAddress.Parse("10.9.9.9").TryWriteBytes(record.LocalAddress, out _);

        var connect = Assert.IsType<NetworkConnectEvent>(Assert.Single(Convert(Bytes(record))));
        Assert.Equal((expected, NetworkDirection.Outbound, "10.1.2.3", 443, "10.9.9.9", 40000, 4242),
            (connect.Result, connect.Direction, connect.RemoteAddress, connect.RemotePort, connect.LocalAddress, connect.LocalPort, connect.Pid));
    }

    [Fact]
    public void An_accepted_connection_is_inbound_and_a_v4_mapped_address_is_the_v4_address()
    {
        var record = Connect(ConnectRecord.InboundKind, AddressFamilies.Inet6, 0);
        IPAddress.Parse("::ffff:192.0.2.7").TryWriteBytes(record.RemoteAddress, out _);
        IPAddress.Parse("::1").TryWriteBytes(record.LocalAddress, out _);

        var connect = Assert.IsType<NetworkConnectEvent>(Assert.Single(Convert(Bytes(record))));
        Assert.Equal((NetworkDirection.Inbound, "192.0.2.7", "::1"), (connect.Direction, connect.RemoteAddress, connect.LocalAddress));
    }

    [Fact]
    public void An_attempt_that_failed_before_it_had_a_source_has_no_local_address()
    {
        var record = Connect(ConnectRecord.OutboundKind, AddressFamilies.Inet, 3, error: 101);
        record.LocalPort = 0;

        var connect = Assert.IsType<NetworkConnectEvent>(Assert.Single(Convert(Bytes(record))));
        Assert.Equal((null, null, ConnectResult.Unreachable), (connect.LocalAddress, connect.LocalPort, connect.Result));
    }

    [Fact]
    public void The_process_name_and_container_come_from_the_process_table()
    {
        var processes = new ProcessTable();
        processes.Exec(new SensorProcess(4242, 1, "java", "/usr/bin/java", new string('a', 64), 0));
        var connect = Assert.IsType<NetworkConnectEvent>(Assert.Single(Convert(Bytes(Connect(ConnectRecord.OutboundKind, AddressFamilies.Inet, 0)), processes)));
        Assert.Equal(("java", new string('a', 64)), (connect.ProcessName, connect.Container?.Id));
    }

    [Fact]
    public void A_truncated_record_or_one_of_an_unknown_family_gives_nothing()
    {
        var record = Bytes(Connect(ConnectRecord.OutboundKind, AddressFamilies.Inet, 0));
        Assert.Empty(Convert(record[..60]));
        Assert.Empty(Convert(Bytes(Connect(ConnectRecord.OutboundKind, 1, 0)))); // AF_UNIX
    }

    [Fact]
    public async Task With_the_kernels_network_records_the_collectors_do_not_scan_proc_net()
    {
        var state = new SensorState(AgentSensorMode.Ebpf, null);
        _ = new NetworkRecordConverter(new ProcessTable(), state);
        Assert.True(state.SocketsFromKernel);

        using var spool = new Spool(Path.Combine(_state, "spool"), 1 << 20);
        var collector = new FlightDataCollector(spool, new AgentOptions { StateDirectory = _state }, TimeProvider.System, NullLogger<FlightDataCollector>.Instance, state);
        await collector.StartAsync(CancellationToken.None);
        await collector.ExecuteTask!;
        Assert.Equal(0, collector.Scans);
        await collector.StopAsync(CancellationToken.None);
    }
}

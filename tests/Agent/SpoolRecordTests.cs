using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>What the spool writes for each event: the contract's JSON, as the serializer writes it with <see cref="Spool.Json"/>.</summary>
public sealed class SpoolRecordTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("spool-record-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly DateTimeOffset At = new DateTimeOffset(2026, 12, 4, 20, 1, 2, TimeSpan.Zero).AddTicks(1234567);

    private static List<TelemetryEvent> Events() =>
    [
        new ProcessStartEvent
        {
            Id = "e-1", Time = At, ProcessName = "sh \"quoted\" \u00e9 <tag>", Pid = 10, Ppid = 1, ParentProcessName = "init", Executable = "/bin/sh",
            Args = ["sh", "-c", "true +x"], Uid = 0, User = "root", Cwd = "/", Interpreter = "/bin/sh",
            Container = new ContainerRef { Id = "7f9c2ba4e88f" },
            Stdio = new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Pipe, Stderr = StdioKind.Tty, RemoteAddress = "203.0.113.9", RemotePort = 4444 },
        },
        new ProcessStartEvent { Id = "e-2", Time = At, ProcessName = "true", Pid = 11, Executable = "/usr/bin/true", Args = [] },
        new ProcessExitEvent { Id = "e-3", Time = At, ProcessName = "true", Pid = 11, ExitCode = 130 },
        new NetworkConnectEvent
        {
            Id = "e-4", Time = At, ProcessName = "curl", Pid = 12, Protocol = NetworkProtocol.Tcp, RemoteAddress = "::1", RemotePort = 443,
            Direction = NetworkDirection.Outbound, Result = ConnectResult.Refused,
        },
        new NetworkListenEvent { Id = "e-5", Time = At, ProcessName = "nginx", Pid = 13, Protocol = NetworkProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = 80 },
        new DnsQueryEvent { Id = "e-6", Time = At, ProcessName = "curl", Pid = 12, Name = "example.com" },
        new FileAccessEvent { Id = "e-7", Time = At, ProcessName = "cat", Pid = 14, Path = "/etc/shadow", Operation = FimOperation.Read },
        new CoverageGapEvent { Id = "e-8", Time = At, Until = At.AddSeconds(1), Reason = CoverageGapReason.SensorOverflow, LostEvents = 5 },
    ];

    [Fact]
    public void Each_event_is_recorded_as_the_serializer_writes_it_one_record_an_event()
    {
        using var spool = new Spool(_root, 1L << 30);
        spool.Record(Events());
        var batch = spool.Telemetry.Take(100, 1L << 20)!;

        var expected = Events(); // the same events, not redacted (nothing in them is secret)
        Assert.Equal(expected.Count, batch.Records.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var written = JsonNode.Parse(batch.Records[i])!;
            var serialized = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(expected[i], Spool.Json))!;
            Assert.True(JsonNode.DeepEquals(serialized, written), $"expected {serialized.ToJsonString()}\nwritten  {written.ToJsonString()}");
            Assert.Equal(expected[i].GetType(), JsonSerializer.Deserialize<TelemetryEvent>(batch.Records[i], Spool.Json)!.GetType());
        }
    }

    [Fact]
    public void Records_written_in_many_calls_and_threads_are_each_whole()
    {
        using var spool = new Spool(_root, 1L << 30);
        Parallel.For(0, 8, t =>
        {
            for (var i = 0; i < 50; i++)
                spool.Record([new ProcessExitEvent { Id = $"t{t}-{i}", Time = At, ProcessName = new string('p', i * 37 % 200), Pid = i }]);
        });

        var ids = new List<string>();
        while (spool.Telemetry.Take(1000, 1L << 20) is { } batch)
        {
            ids.AddRange(batch.Records.Select(r => JsonSerializer.Deserialize<TelemetryEvent>(r, Spool.Json)!.Id));
            spool.Telemetry.Acknowledge(batch);
        }

        Assert.Equal(400, ids.Distinct().Count());
    }
}

using System.Text.Json;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Tests.Telemetry;

/// <summary>The stored form of an event (read by EventBatch, written by EventJson) reads back as the same event, field for field, for every kind.</summary>
public sealed class EventJsonTests
{
    public static TheoryData<string> Kinds => new() { "process_start", "process_exit", "file_access", "network_connect", "network_listen", "dns_query" };

    private static TelemetryEvent Full(string kind)
    {
        TelemetryEvent e = kind switch
        {
            "process_start" => new ProcessStartEvent { Pid = 2, Ppid = 1, ParentProcessName = "bash", Executable = "/bin/ü", Args = ["a b", "\"q\"", "<&>"], User = "u", Uid = 4294967295, Cwd = "/" },
            "process_exit" => new ProcessExitEvent { Pid = 2, ExitCode = -9 },
            "file_access" => new FileAccessEvent { Pid = 3, Path = "/a\nb", Operation = FimOperation.Rename, NewPath = "/c" },
            "network_connect" => new NetworkConnectEvent { Pid = 4, Protocol = NetworkProtocol.Udp, LocalAddress = "::1", LocalPort = 0, RemoteAddress = "fe80::1", RemotePort = 65535 },
            "network_listen" => new NetworkListenEvent { Pid = 5, Protocol = NetworkProtocol.Tcp, LocalAddress = "0.0.0.0", LocalPort = 80 },
            _ => new DnsQueryEvent { Pid = 6, Name = "example.com", Answers = ["1.2.3.4", "::2"] },
        };
        e.Id = "id-" + kind;
        e.Time = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);
        e.Container = new ContainerRef { Id = "c1", Name = "n", Image = "i:1" };
        e.ProcessName = "p";
        return e;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void An_event_reads_back_as_written(string kind)
    {
        var original = Full(kind);
        var segment = Assert.Single(Segments.Build([original], "host-1"));
        var stored = segment.Open();

        var json = System.Text.Encoding.UTF8.GetString(stored.EventJson(0).Span);
        var read = stored.Event(0);

        Assert.StartsWith($"{{\"kind\":\"{kind}\",", json);
        Assert.Contains("\"time\":\"2026-11-22T08:00:00.1234567Z\"", json);
        original.Hostname = "host-1";
        original.Time = original.Time.ToUniversalTime();
        Assert.Equal(JsonSerializer.Serialize(original, Segments.EventInfo), JsonSerializer.Serialize(read, Segments.EventInfo));
    }
}

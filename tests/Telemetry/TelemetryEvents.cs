using Platform.Contracts;

namespace Platform.Tests.Telemetry;

/// <summary>Events and batches for the flight-data tests: the seed scenario's steps, and bulk filler.</summary>
public static class TelemetryEvents
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    public static readonly ContainerRef Web = new() { Id = "7f9c2ba4e88f", Name = "web-7f9c", Image = "struts2-app:2.5" };

    public static ProcessStartEvent ShellFromJava(string id, DateTimeOffset time, ContainerRef? container = null) => new()
    {
        Id = id, Time = time, Container = container ?? Web, ProcessName = "sh", Pid = 1240, Ppid = 1234, ParentProcessName = "java",
        Executable = "/bin/sh", Args = ["cp", "/etc/passwd", "/tmp/p"], User = "app", Uid = 1000, Cwd = "/opt/app",
    };

    public static FileAccessEvent Read(string id, DateTimeOffset time, string path = "/etc/passwd", ContainerRef? container = null) => new()
    {
        Id = id, Time = time, Container = container, ProcessName = "cp", Pid = 1241, Path = path, Operation = FimOperation.Read,
    };

    public static NetworkConnectEvent Connect(string id, DateTimeOffset time, ContainerRef? container = null) => new()
    {
        Id = id, Time = time, Container = container, ProcessName = "curl", Pid = 1250, Protocol = NetworkProtocol.Tcp,
        LocalAddress = "10.0.3.7", LocalPort = 41234, RemoteAddress = "203.0.113.9", RemotePort = 443,
    };

    public static DnsQueryEvent Dns(string id, DateTimeOffset time) => new()
    {
        Id = id, Time = time, ProcessName = "curl", Pid = 1250, Name = "exfil.example.net", Answers = ["203.0.113.9"],
    };

    public static TelemetryBatch Batch(long sequence, params TelemetryEvent[] events) => new() { Id = $"b-{sequence}", Sequence = sequence, Events = events };

    /// <summary><paramref name="count"/> file reads a millisecond apart from <paramref name="start"/>, every other one in the container.</summary>
    public static TelemetryEvent[] Reads(string prefix, DateTimeOffset start, int count) =>
        Enumerable.Range(0, count).Select(i => (TelemetryEvent)Read($"{prefix}-{i}", start.AddMilliseconds(i), $"/srv/{prefix}/{i}", i % 2 == 0 ? Web : null)).ToArray();
}

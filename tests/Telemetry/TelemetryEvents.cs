using Platform.Contracts;
using Platform.Tests.Infrastructure;

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

    /// <summary>
    /// An agent that pushed <paramref name="batches"/> batches of <paramref name="perBatch"/> reads a second apart
    /// (every other one in <paramref name="container"/>), then the attack's last steps in the container: a shell
    /// from java at T0+10s and a connection out at T0+11s.
    /// </summary>
    public static async Task<(string AgentId, PlatformClient Agent)> RecordedHost(PlatformApi api, string hostname, ContainerRef container, int batches, int perBatch)
    {
        var (agent, enrolled) = await api.EnrolledAgent(hostname);
        var id = enrolled.Agent.Id;
        for (var b = 0; b < batches; b++)
        {
            var reads = Reads($"{hostname}-{b}", T0.AddSeconds(b), perBatch);
            foreach (var e in reads.Where(e => e.Container is not null))
                e.Container = container;
            await agent.PushTelemetryAsync(Batch(b + 1, reads), id);
        }

        await agent.PushTelemetryAsync(Batch(batches + 1, ShellFromJava("shell", T0.AddSeconds(10), container), Connect("exfil", T0.AddSeconds(11), container)), id);
        return (id, agent);
    }

    /// <summary><paramref name="count"/> file reads a millisecond apart from <paramref name="start"/>, every other one in the container.</summary>
    public static TelemetryEvent[] Reads(string prefix, DateTimeOffset start, int count) =>
        Enumerable.Range(0, count).Select(i => (TelemetryEvent)Read($"{prefix}-{i}", start.AddMilliseconds(i), $"/srv/{prefix}/{i}", i % 2 == 0 ? Web : null)).ToArray();
}

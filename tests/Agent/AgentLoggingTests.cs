using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>
/// The agent's log at its default levels: its own lines, not the HTTP stack's (HttpClient wrote four lines a request
/// and Polly one an attempt, ~170 a minute); a setting brings them back.
/// </summary>
public sealed class AgentLoggingTests(KestrelApiForAgents fixture) : IClassFixture<KestrelApiForAgents>, IDisposable
{
    private readonly PlatformApi _api = fixture.WithMachineClock(); // the agent's times are the machine's
    private readonly string _state = Directory.CreateTempSubdirectory("agent-logging-").FullName;
    private readonly List<Process> _agents = [];

    public void Dispose()
    {
        StopAgentProcesses(_agents);
        Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public async Task At_default_levels_the_agent_writes_its_own_lines_and_none_of_the_http_stack()
    {
        var output = await RunUntilThreeHeartbeatsAsync("quiet-01", []);

        Assert.Contains(output, line => line.Contains("Enrolled as", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => AgentLoggingCategories.Any(category => line.Contains(category, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_log_level_setting_brings_the_http_client_lines_back()
    {
        var output = await RunUntilThreeHeartbeatsAsync("chatty-01", new() { ["Logging__LogLevel__System.Net.Http.HttpClient"] = "Information" });

        Assert.Contains(output, line => line.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
    }

    private static readonly string[] AgentLoggingCategories = ["System.Net.Http.HttpClient", "Microsoft.Extensions.Http", "Polly"];

    /// <summary>The agent (heartbeat and policy poll every second) until the api has logged three of its heartbeats.</summary>
    private async Task<IReadOnlyList<string>> RunUntilThreeHeartbeatsAsync(string hostname, Dictionary<string, string> more)
    {
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = hostname });
        var settings = AgentSettings(_api, enrollment.Secret, Path.Combine(_state, hostname), hostname);
        foreach (var (name, value) in more)
            settings[name] = value;
        var logged = _api.Log.Entries.Count; // the tests of this class take turns on the api: what follows is this agent's
        var output = new ConcurrentQueue<string>();
        _agents.Add(StartAgentProcess([], settings, output));

        await Until(() => _api.Log.Entries.Skip(logged).Count(IsHeartbeat) >= 3, $"three heartbeats from {hostname}");
        return output.ToList();
    }

    private static bool IsHeartbeat(LogCapture.Entry entry) =>
        entry.Category == "Platform.Api.Http.RequestLog" && entry.Message.Contains("/heartbeat 2", StringComparison.Ordinal);
}

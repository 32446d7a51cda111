using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent.Delivery;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>
/// A running agent that is decommissioned stops: the api's 401 of type agent-decommissioned is told apart from a 401
/// that may pass, the agent says why in one line and exits with code 4 (which its systemd unit does not restart), and
/// its spool stays on disk.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DecommissionedAgentTests(KestrelApiForAgents api) : IClassFixture<KestrelApiForAgents>, IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("decommissioned-agent-").FullName;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<Process> _agents = [];

    public void Dispose()
    {
        StopAgentProcesses(_agents);
        Directory.Delete(_state, recursive: true);
    }

    [Fact]
    public async Task A_running_agent_that_is_decommissioned_says_so_once_and_exits_with_code_4_keeping_its_spool()
    {
        var hostname = "retired-" + Guid.NewGuid().ToString("N")[..8];
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = hostname });
        var settings = AgentSettings(api, enrollment.Secret, _state, hostname);
        settings["Platform__Agent__Sensor__Mode"] = "none";
        settings["Platform__Agent__Enforcement__Mode"] = "none";
        var agent = StartAgentProcess([], settings, _output);
        _agents.Add(agent);

        Platform.Contracts.Agent? listed = null;
        var deadline = Stopwatch.StartNew();
        while ((listed = (await api.Admin().ListAgentsAsync(hostname: hostname)).Items.SingleOrDefault())?.LastHeartbeatAt is null)
        {
            Assert.False(agent.HasExited, string.Join("\n", _output));
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the agent's first heartbeat: " + string.Join("\n", _output));
            await Task.Delay(50);
        }

        await api.Admin().DecommissionAgentAsync(listed!.Id);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await agent.WaitForExitAsync(patience.Token);

        Assert.Equal(Decommissioned.ExitCode, agent.ExitCode);
        var said = _output.Where(l => l.Contains("refuses this agent for good", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(said);
        Assert.Contains($"The agent {listed.Id} was decommissioned at ", line, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(_state, "spool")), "the spool is kept");
        Assert.True(File.Exists(Path.Combine(_state, "credential.json")), "the credential is left for the operator to remove");
    }

    /// <summary>Only the decommissioned type stops the agent: a 401 that may pass, or a body that is no problem, does not.</summary>
    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "application/problem+json", "{\"type\":\"https://platform.dev/problems/unauthorized\",\"status\":401}", false)]
    [InlineData(HttpStatusCode.Unauthorized, "application/problem+json", "{\"type\":\"https://platform.dev/problems/agent-decommissioned\",\"detail\":\"gone\"}", true)]
    [InlineData(HttpStatusCode.Unauthorized, "application/json", "{\"type\":\"https://platform.dev/problems/agent-decommissioned\"}", false)]
    [InlineData(HttpStatusCode.Unauthorized, "application/problem+json", "{\"type\":", false)]
    [InlineData(HttpStatusCode.Unauthorized, "application/problem+json", "[\"https://platform.dev/problems/agent-decommissioned\"]", false)]
    [InlineData(HttpStatusCode.Forbidden, "application/problem+json", "{\"type\":\"https://platform.dev/problems/agent-decommissioned\"}", false)]
    public async Task Only_the_decommissioned_problem_stops_the_agent(HttpStatusCode status, string mediaType, string body, bool stops)
    {
        var lifetime = new Lifetime();
        var exitCode = Environment.ExitCode;
        try
        {
            using var handler = new Decommissioned(lifetime, NullLogger<Decommissioned>.Instance) { InnerHandler = new Answer(status, mediaType, body) };
            using var client = new HttpClient(handler);
            using var response = await client.GetAsync("http://api/api/v1/agents/agt_x/fim/policy");

            Assert.Equal(stops, lifetime.Stopped);
            Assert.Equal(body, await response.Content.ReadAsStringAsync()); // the caller still reads the answer
        }
        finally
        {
            Environment.ExitCode = exitCode; // this test process's own
        }
    }

    private sealed class Answer(HttpStatusCode status, string mediaType, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) });
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public bool Stopped { get; private set; }

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopped = true;
    }
}

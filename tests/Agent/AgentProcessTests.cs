using System.Diagnostics;
using System.Text.Json;
using Platform.Agent.Delivery;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.Telemetry;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Agent;

/// <summary>The api on real Kestrel (a port of its own), for an agent running as a process.</summary>
public sealed class KestrelApiForAgents : SqliteApi
{
    public KestrelApiForAgents() => UseKestrel(0);
}

/// <summary>The real agent, as a process of its own, against the real api.</summary>
public sealed class AgentProcessTests(KestrelApiForAgents api) : IClassFixture<KestrelApiForAgents>, IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("agent-process-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    public void Dispose() => Directory.Delete(_state, recursive: true);

    /// <summary>
    /// 2,000 events wait in the spool (200 batches of 10); the agent is killed (SIGKILL) 20 times while it delivers them, each time
    /// just after the api acknowledged a batch (so, often, with the next one on the wire), and started again.
    /// Every event is stored exactly once: a batch cut off mid-send goes again with the same id and sequence and
    /// the api takes a replay as the duplicate it is.
    /// </summary>
    [Fact]
    public async Task Killed_twenty_times_mid_delivery_the_agent_loses_nothing_and_stores_nothing_twice()
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "sigkill" });
        var produced = new List<string>();
        using (var spool = new Spool(Path.Combine(_state, "spool"), 256L << 20))
        {
            var start = DateTimeOffset.UtcNow.AddMinutes(-10);
            for (var batch = 0; batch < 200; batch++)
            {
                var events = Enumerable.Range(0, 10).Select(i => (TelemetryEvent)TelemetryEvents.Read($"k{batch}-{i}", start.AddMilliseconds(batch * 10 + i))).ToList();
                spool.Record(events);
                produced.AddRange(events.Select(e => e.Id));
            }
        }

        var cursor = Path.Combine(_state, "spool", "telemetry", "cursor.json");
        var random = new Random(20261123);
        for (var kill = 0; kill < 20; kill++)
        {
            var acknowledgedBefore = Acknowledged(cursor);
            using var agent = Start(enrollment.Secret);
            await Until(() => Acknowledged(cursor) != acknowledgedBefore || agent.HasExited, $"a batch to be acknowledged before kill {kill + 1}");
            Assert.False(agent.HasExited, "the agent stopped by itself: " + string.Join("\n", _output));
            await Task.Delay(random.Next(0, 10)); // somewhere in the next batch's send
            agent.Kill(); // SIGKILL: no shutdown, no flush
            await agent.WaitForExitAsync();
        }

        using (var last = Start(enrollment.Secret))
        {
            var agentId = JsonDocument.Parse(File.ReadAllText(Path.Combine(_state, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;
            List<string> stored = [];
            await UntilAsync(async () => (stored = await api.AllEventIds(agentId)).Count >= produced.Count, "every event to arrive");
            last.Kill();
            await last.WaitForExitAsync();

            Assert.Equal(produced.Order(), stored.Order());
            Assert.Empty((await api.Admin().ListTelemetryGapsAsync(agentId)).Items);
            Assert.Single((await api.Admin().ListAgentsAsync(hostname: "sigkill-01")).Items); // enrolled once
        }
    }

    /// <summary>
    /// The agent's own build (agent/bin/&lt;configuration&gt;/), as it is deployed: the copy beside the tests runs
    /// with the tests' runtime settings (ASP.NET Core's shared framework), which the agent does not have.
    /// </summary>
    private static string AgentDll
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
            var dll = Path.Combine(Repository.Root, "agent", "bin", configuration, "net10.0", "Platform.Agent.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("The agent's build is missing (it is built with the tests).", dll);
        }
    }

    private Process Start(string enrollToken)
    {
        var start = new ProcessStartInfo("dotnet", [AgentDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Platform__Agent__Server"] = api.Http().BaseAddress!.ToString(),
                ["Platform__Agent__EnrollToken"] = enrollToken,
                ["Platform__Agent__StateDirectory"] = _state,
                ["Platform__Agent__Hostname"] = "sigkill-01",
                ["Platform__Agent__LingerMilliseconds"] = "0",
                ["Platform__Agent__TelemetryBatchEvents"] = "10",
                ["Platform__Agent__HeartbeatSeconds"] = "3600",
                ["Platform__Agent__PolicySeconds"] = "3600",
                ["Logging__LogLevel__Default"] = "Warning",
            },
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Where the agent's telemetry cursor stands (what the api has acknowledged), as written on disk.</summary>
    private static string Acknowledged(string cursor)
    {
        try
        {
            var root = JsonDocument.Parse(File.ReadAllBytes(cursor)).RootElement;
            return $"{root.GetProperty("Segment").GetInt64()}:{root.GetProperty("Offset").GetInt64()}";
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return "";
        }
    }


}

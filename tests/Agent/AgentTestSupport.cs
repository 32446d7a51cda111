using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Agent;

/// <summary>What the agent tests share: reading back what arrived, and waiting for what the agent does by itself.</summary>
public static class AgentTestSupport
{
    /// <summary>
    /// The agent as it ships: its native executable (agent/bin/&lt;configuration&gt;/native/, published after the tests
    /// build by agent/NativeAgent.targets), with the sensor's BPF object beside it.
    /// </summary>
    public static string AgentExecutable
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
            var executable = Path.Combine(Repository.Root, "agent", "bin", configuration, "native", "Platform.Agent");
            return File.Exists(executable) ? executable : throw new FileNotFoundException("The agent's native executable is missing (it is published when the tests build).", executable);
        }
    }

    /// <summary>Starts the agent's build with these arguments and settings (environment variables); every line it
    /// writes, on either stream, goes into <paramref name="output"/>.</summary>
    public static Process StartAgentProcess(IEnumerable<string> args, IReadOnlyDictionary<string, string> settings, ConcurrentQueue<string> output)
    {
        var start = new ProcessStartInfo(AgentExecutable, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in settings)
            start.Environment[name] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// The settings (environment variables) of an agent process against <paramref name="api"/> that reports at once: a
    /// heartbeat and a policy poll every second, no inventory and no process collectors. A test adds or overrides its own.
    /// </summary>
    public static Dictionary<string, string> AgentSettings(PlatformApi api, string enrollToken, string stateDirectory, string hostname) => new()
    {
        ["Platform__Agent__Server"] = api.Http().BaseAddress!.ToString(),
        ["Platform__Agent__EnrollToken"] = enrollToken,
        ["Platform__Agent__StateDirectory"] = stateDirectory,
        ["Platform__Agent__Hostname"] = hostname,
        ["Platform__Agent__LingerMilliseconds"] = "20",
        ["Platform__Agent__HeartbeatSeconds"] = "1",
        ["Platform__Agent__PolicySeconds"] = "1",
        ["Platform__Agent__InventorySeconds"] = "0",
        ["Platform__Agent__CollectorMilliseconds"] = "0",
    };

    /// <summary>Ends the agent processes a test started (killed with their children when still running) and releases them.</summary>
    public static void StopAgentProcesses(IEnumerable<Process> agents)
    {
        foreach (var agent in agents)
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
                agent.WaitForExit();
            }

            agent.Dispose();
        }
    }

    /// <summary>The ids of every event the api stored for an agent, all pages.</summary>
    public static async Task<List<string>> AllEventIds(this PlatformApi api, string agentId) =>
        (await api.Admin().AllEvents(agentId)).Select(e => e.Id).ToList();

    /// <summary>Every event the api stored for an agent (of a kind), all pages.</summary>
    public static async Task<List<TelemetryEvent>> AllEvents(this PlatformClient client, string agentId, TelemetryEventKind? kind = null)
    {
        var events = new List<TelemetryEvent>();
        string? cursor = null;
        do
        {
            var page = await client.ListTelemetryEventsAsync(limit: 200, cursor: cursor, agentId: agentId, kind: kind);
            events.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return events;
    }

    /// <summary>Waits for a condition the agent reaches by itself, checked every 10 ms (for at most a minute).</summary>
    /// <summary>
    /// Brings the api's test clock up to the machine's: an agent reports times from the machine's clock, and the api
    /// refuses those more than a few minutes ahead of its own (a fixture's clock stands still from its creation).
    /// </summary>
    public static PlatformApi WithMachineClock(this PlatformApi api)
    {
        var lag = DateTimeOffset.UtcNow - api.Time.GetUtcNow();
        if (lag > TimeSpan.Zero)
            api.Time.Advance(lag);
        return api;
    }

    public static Task Until(Func<bool> condition, string what) => Wait(() => Task.FromResult(condition()), what, maxPause: 10);

    /// <summary>Waits for a condition that asks the api: checked every 10 ms at first, then every 200 ms (under the api's rate limit).</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what) => Wait(condition, what, maxPause: 200);

    private static async Task Wait(Func<Task<bool>> condition, string what, int maxPause)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        var pause = 10;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited a minute for {what}.");
            await Task.Delay(pause);
            pause = Math.Min(maxPause, pause * 2);
        }
    }
}

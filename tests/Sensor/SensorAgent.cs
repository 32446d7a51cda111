using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Sensor;

/// <summary>
/// The real agent as a process of its own on the kernel sensor (<c>Platform:Agent:Sensor:Mode</c> <c>ebpf</c> unless a test
/// says otherwise), enrolled with the real api. It sees every process of the machine, other tests' too: tests find their
/// own flight data by their own markers, pids and namespaces.
/// </summary>
public sealed class SensorAgent : IDisposable
{
    private readonly PlatformApi _api;
    private readonly Dictionary<string, string> _settings;
    private readonly string[] _wrapper;
    private readonly List<Process> _workloads = [];
    private readonly string _enrollToken;

    private SensorAgent(PlatformApi api, string name, string enrollToken, Dictionary<string, string> settings, string[] wrapper)
    {
        _api = api;
        _enrollToken = enrollToken;
        Hostname = $"{name}-{Guid.NewGuid().ToString("N")[..6]}";
        _settings = settings;
        _wrapper = wrapper;
        _settings["Platform__Agent__StateDirectory"] = State;
        _settings["Platform__Agent__Hostname"] = Hostname;
    }

    public string State { get; } = Directory.CreateTempSubdirectory("agent-sensor-").FullName;

    public string Hostname { get; }

    public string AgentId { get; private set; } = "";

    public Process Process { get; private set; } = null!;

    /// <summary>Every line the agent wrote, on either stream, over all its runs.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public string Log => string.Join("\n", Output);

    /// <summary>
    /// Enrolls and starts the agent, and waits until it has enrolled. <paramref name="settings"/> are added to (or replace)
    /// the defaults; <paramref name="wrapper"/> is a command line the agent is started under (<c>capsh ... --</c>).
    /// </summary>
    public static async Task<SensorAgent> StartAsync(PlatformApi api, string name, IReadOnlyDictionary<string, string>? settings = null, string[]? wrapper = null)
    {
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = name });
        var all = new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = api.Http().BaseAddress!.ToString(),
            ["Platform__Agent__Sensor__Mode"] = "ebpf",
            ["Platform__Agent__LingerMilliseconds"] = "100",
            ["Platform__Agent__HeartbeatSeconds"] = "3600",
            ["Platform__Agent__InventorySeconds"] = "0",
            ["Platform__Agent__WatchFiles"] = "false",
            ["Platform__Agent__BaselineHours"] = "0",
            ["Platform__Agent__PolicySeconds"] = "3600",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            all[key] = value;
        var agent = new SensorAgent(api, name, enrollment.Secret, all, wrapper ?? []);
        agent.Start();
        var credential = Path.Combine(agent.State, "credential.json");
        await Sensing.Until(() => Task.FromResult(File.Exists(credential) || agent.Process.HasExited), "the agent to enroll", api);
        if (agent.Process.HasExited)
            return agent; // the caller looks at why (exit code, output)
        agent.AgentId = JsonDocument.Parse(File.ReadAllText(credential)).RootElement.GetProperty("AgentId").GetString()!;
        return agent;
    }

    /// <summary>Starts the agent (again, on the same state directory after a stop).</summary>
    public void Start()
    {
        if (_wrapper.Length == 0)
        {
            Process = AgentTestSupport.StartAgentProcess(["--enroll-token", _enrollToken], _settings, Output);
            return;
        }

        // Under a wrapper: the wrapper's command line, then the agent's as it is started without one.
        var start = new ProcessStartInfo(_wrapper[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in _wrapper.Skip(1).Concat([AgentTestSupport.AgentExecutable, "--enroll-token", _enrollToken]))
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in _settings)
            start.Environment[key] = value;
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL: no shutdown, nothing flushed.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        await Process.WaitForExitAsync();
    }

    /// <summary>
    /// Waits until the sensor reports processes: a probe (<c>sh -c 'true probe-...'</c>, a new one each try) is in the
    /// flight data the api has. Returns when the api had it.
    /// </summary>
    public async Task<DateTimeOffset> WaitUntilSensingAsync()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-5);
        var marker = $"probe-{Guid.NewGuid().ToString("N")[..8]}";
        var launched = 0;
        await Sensing.Until(async () =>
        {
            Assert.False(Process.HasExited, "the agent stopped: " + Log);
            if (launched < 100)
                Workload("sh", "-c", $"true {marker}-{launched++}").WaitForExit();
            var starts = await Events<ProcessStartEvent>(TelemetryEventKind.Process_start, since);
            return starts.Any(e => e.Args is [_, _, var command] && command.StartsWith($"true {marker}-", StringComparison.Ordinal));
        }, "the agent's sensor to report a probe process", _api);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>Events of a kind this agent reported, from <paramref name="since"/> on (all pages).</summary>
    public async Task<List<T>> Events<T>(TelemetryEventKind kind, DateTimeOffset since, DateTimeOffset? until = null)
        where T : TelemetryEvent
    {
        var events = new List<T>();
        string? cursor = null;
        var client = _api.Admin();
        do
        {
            var page = await client.ListTelemetryEventsAsync(limit: 200, cursor: cursor, agentId: AgentId, kind: kind, since: since, until: until);
            events.AddRange(page.Items.OfType<T>());
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return events;
    }

    /// <summary>The agent's incidents (all pages).</summary>
    public async Task<List<Incident>> Incidents(IncidentCategory? category = null)
    {
        var incidents = new List<Incident>();
        string? cursor = null;
        var client = _api.Admin();
        do
        {
            var page = await client.ListIncidentsAsync(limit: 200, cursor: cursor, agentId: AgentId, category: category is { } c ? [c] : null);
            incidents.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return incidents;
    }

    /// <summary>The findings of an incident (all pages).</summary>
    public async Task<List<IncidentFinding>> Findings(string incidentId)
    {
        var findings = new List<IncidentFinding>();
        string? cursor = null;
        var client = _api.Admin();
        do
        {
            var page = await client.ListIncidentFindingsAsync(incidentId, limit: 200, cursor: cursor);
            findings.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return findings;
    }

    /// <summary>The agent's coverage gaps (all pages).</summary>
    public async Task<List<TelemetryGap>> Gaps()
    {
        var gaps = new List<TelemetryGap>();
        string? cursor = null;
        do
        {
            var page = await _api.Admin().ListTelemetryGapsAsync(AgentId, limit: 200, cursor: cursor);
            gaps.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return gaps;
    }

    /// <summary>A workload process (killed, if still running, when the agent is disposed); stdin is kept open until then.</summary>
    public Process Workload(params string[] commandLine)
    {
        var start = new ProcessStartInfo(commandLine[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in commandLine.Skip(1))
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        lock (_workloads)
            _workloads.Add(process);
        return process;
    }

    /// <summary>Runs a workload to its end; a failure throws with what it said.</summary>
    public async Task<string> RunAsync(params string[] commandLine)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var process = Workload(commandLine);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"{string.Join(' ', commandLine)} exited with {process.ExitCode}: {await error}");
    }

    public void Dispose()
    {
        lock (_workloads)
        {
            foreach (var process in _workloads.Append(Process).OfType<Process>())
            {
                try
                {
                    if (!process.HasExited)
                        process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
                catch (InvalidOperationException)
                {
                }

                process.Dispose();
            }
        }

        Directory.Delete(State, recursive: true);
        _api.AssertServedToTheSpec(); // what the agent process sent and was answered
    }
}

/// <summary>Waiting on the api, never on the clock: a condition checked again and again, with a generous limit overall.</summary>
public static class Sensing
{
    /// <summary>How long a condition may take: generous, as the machine may be busy (a failure is then a real one).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    /// <summary>
    /// Checks <paramref name="condition"/> until it holds (every 100 ms at first, then every 2 s), bringing the api's test
    /// clock up to the machine's each time (agents report machine time).
    /// </summary>
    public static async Task Until(Func<Task<bool>> condition, string what, PlatformApi api, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        var pause = 100;
        while (true)
        {
            api.WithMachineClock();
            try
            {
                if (await condition())
                    return;
            }
            catch (PlatformApiException e) when (e.StatusCode >= 500)
            {
                // The server's own account of it: the response says nothing of internals.
                var errors = api.Log.Entries.Where(l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Error).TakeLast(3).Select(l => $"{l.Message} {l.Exception}");
                throw new InvalidOperationException($"The api answered {e.StatusCode} while waiting for {what}: {string.Join("\n", errors)}", e);
            }

            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited {(patience ?? Patience).TotalMinutes} min for {what}.");
            await Task.Delay(pause);
            pause = Math.Min(2000, pause * 2);
        }
    }

    /// <summary>Like <see cref="Until"/>, returning what the probe found (non-null).</summary>
    public static async Task<T> Found<T>(Func<Task<T?>> probe, string what, PlatformApi api, TimeSpan? patience = null)
        where T : class
    {
        T? found = null;
        await Until(async () => (found = await probe()) is not null, what, api, patience);
        return found!;
    }
}

using System.Diagnostics;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Agent;
using Platform.Tests.Infrastructure;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Redaction;

public sealed class KestrelPostgresApiForAgents : PostgresApi
{
    public KestrelPostgresApiForAgents() => UseKestrel(0);
}

/// <summary>
/// Real processes on this (monitored) host run with the twelve forms' secrets on their command lines; the real agent
/// records them. Each event arrives redacted with its reasons, and no canary is anywhere: not in the agent's spool or
/// state, not in the api's store, files, responses, bundles, nor in either one's log. The agent itself is given its
/// enrollment token on its command line and never logs it.
/// </summary>
public abstract class AgentRedactionTests(PlatformApi api) : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("agent-redaction-").FullName;
    private readonly string _bin = Directory.CreateTempSubdirectory("agent-redaction-bin-").FullName;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private readonly List<Process> _started = [];
    private readonly PlatformApi _api = api.WithMachineClock();

    public void Dispose()
    {
        foreach (var process in _started)
        {
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        Directory.Delete(_state, recursive: true);
        Directory.Delete(_bin, recursive: true);
        api.AssertServedToTheSpec();
    }

    [Fact]
    public async Task Secrets_on_real_command_lines_are_redacted_by_the_agent_and_stored_nowhere()
    {
        Assert.True(OperatingSystem.IsLinux(), "the agent's collectors read /proc");
        var canaries = new Canaries();
        var enrollment = await _api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "redaction" });
        var hostname = "redaction-" + Guid.NewGuid().ToString("N")[..6];
        var since = DateTimeOffset.UtcNow.AddSeconds(-5);
        using var agent = StartAgent(enrollment.Secret, hostname);
        var credential = Path.Combine(_state, "credential.json");
        await Until(() => File.Exists(credential) || agent.HasExited, "the agent to enroll");
        Assert.False(agent.HasExited, string.Join("\n", _output));
        var agentId = JsonDocument.Parse(File.ReadAllText(credential)).RootElement.GetProperty("AgentId").GetString()!;

        // The collector reports processes that start after its first scan: wait until a probe is reported.
        await UntilAsync(async () =>
        {
            var probe = Run("probe", ["--probe", "x"]);
            return await Reported(agentId, since, probe.Id, tries: 20) is not null;
        }, "the agent to report a process it saw start");

        var pids = canaries.Forms.Select(form => form.Program == "sh" ? Run("/bin/sh", form.Args).Id : Run(form.Program, form.Args).Id).ToList();
        var events = new ProcessStartEvent[pids.Count];
        for (var i = 0; i < pids.Count; i++)
        {
            var pid = pids[i];
            await UntilAsync(async () => (events[i] = (await Reported(agentId, since, pid, tries: 1))!) is not null, $"the process of form {i + 1} to be reported");
            if (events[i].Redacted?.Contains(canaries.Forms[i].Reason) != true)
            {
                var all = (await _api.Admin().AllEvents(agentId, TelemetryEventKind.Process_start)).OfType<ProcessStartEvent>().Where(e => e.Pid == pid);
                Assert.Fail($"form {i + 1}: " + string.Join("\n", all.Select(e => System.Text.Json.JsonSerializer.Serialize<TelemetryEvent>(e))));
            }

            Assert.Contains(events[i].Args!, a => a.Contains(SecretRedactor.Marker, StringComparison.Ordinal));
        }

        agent.Kill();
        await agent.WaitForExitAsync();

        Assert.Empty(canaries.FoundIn(string.Join("\n", _output)));
        Assert.DoesNotContain(enrollment.Secret, string.Join("\n", _output));
        var agentSecret = JsonDocument.Parse(File.ReadAllText(credential)).RootElement.EnumerateObject().Select(p => p.Value.ToString()).First(v => v.StartsWith("plt_", StringComparison.Ordinal));
        Assert.DoesNotContain(agentSecret, string.Join("\n", _output));
        Assert.Empty(canaries.FoundIn(Canaries.DumpFiles(_state)));
        Assert.Empty(canaries.FoundIn(await Canaries.DumpResponses(_api, agentId, since.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1))));
        Assert.Empty(canaries.FoundIn(await Canaries.DumpStore(_api)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpFiles(_api.DataDirectory)));
        Assert.Empty(canaries.FoundIn(Canaries.DumpLog(_api)));
    }

    /// <summary>The start event of a process, if the api has it (asked <paramref name="tries"/> times, 100 ms apart).</summary>
    private async Task<ProcessStartEvent?> Reported(string agentId, DateTimeOffset since, int pid, int tries)
    {
        for (var t = 0; t < tries; t++)
        {
            string? cursor = null;
            do
            {
                var page = await _api.Admin().ListTelemetryEventsAsync(limit: 200, cursor: cursor, agentId: agentId, kind: TelemetryEventKind.Process_start, since: since);
                // The script's own start (its shell may exec the last command, sleep, in the same process afterwards).
                if (page.Items.OfType<ProcessStartEvent>().FirstOrDefault(e => e.Pid == pid && e.Args?.Count > 2) is { } found)
                    return found;
                cursor = page.NextCursor;
            }
            while (cursor is not null);
            if (t + 1 < tries)
                await Task.Delay(100);
        }

        return null;
    }

    /// <summary>A real process: a script of the program's name (it stays, sleeping, with its command line as given).</summary>
    private Process Run(string program, string[] args)
    {
        var path = program;
        if (!program.StartsWith('/'))
        {
            path = Path.Combine(_bin, program);
            if (!File.Exists(path))
            {
                File.WriteAllText(path, "#!/bin/sh\nsleep 60\n");
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        _started.Add(process);
        return process;
    }

    private Process StartAgent(string enrollToken, string hostname)
    {
        // The enrollment token on the agent's own command line, as the docs show it.
        var settings = new Dictionary<string, string>
        {
            ["Platform__Agent__Server"] = _api.Http().BaseAddress!.ToString(),
            ["Platform__Agent__StateDirectory"] = _state,
            ["Platform__Agent__Hostname"] = hostname,
            ["Platform__Agent__LingerMilliseconds"] = "0",
            ["Platform__Agent__HeartbeatSeconds"] = "3600",
            ["Platform__Agent__CollectorMilliseconds"] = "200",
            ["Platform__Agent__InventorySeconds"] = "0",
            ["Platform__Agent__WatchFiles"] = "false",
            ["Platform__Agent__BaselineHours"] = "0",
            ["Platform__Agent__PolicySeconds"] = "3600",
            ["Logging__LogLevel__Default"] = "Debug",
        };
        return StartAgentProcess(["--enroll-token", enrollToken], settings, _output);
    }
}

public sealed class AgentRedactionTestsOnSqlite(KestrelApiForAgents api) : AgentRedactionTests(api), IClassFixture<KestrelApiForAgents>;

public sealed class AgentRedactionTestsOnPostgres(KestrelPostgresApiForAgents api) : AgentRedactionTests(api), IClassFixture<KestrelPostgresApiForAgents>;

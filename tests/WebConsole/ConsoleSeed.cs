using System.Collections.Concurrent;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Incidents;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.WebConsole;

/// <summary>
/// Data for the console's pages, made the way production makes it: the real agent's <c>simulate</c> (its native
/// build, its spool and delivery) against the api, then detection. The struts2 scenario gives two incidents in
/// container 7f9c2ba4e88f: a shell from a server (java -> sh) and a critical data exfiltration (sh -> cp /etc/passwd,
/// curl to 203.0.113.9) whose risk context has the container (privileged), MYSQL_PASSWORD, CVE-2017-5638, and
/// mysql and vault as sensitive services. host-fim gives FIM activity on /srv/app/application.cfg (alerts only where a
/// FIM rule covers the path: see tests/Agent/AgentProcessTests.cs).
/// </summary>
public static class ConsoleSeed
{
    /// <summary>
    /// Enrolls an agent as <paramref name="hostname"/>, replays <paramref name="scenarios"/> through it, waits until it
    /// has delivered everything and exited, runs detection, and returns the agent's id. The api's clock is brought up
    /// to the machine's first: the agent dates its events by the machine's clock, and the api refuses times too far
    /// ahead of its own (a fixture's clock stands still from its creation).
    /// </summary>
    public static async Task<string> SimulateAsync(this ConsoleApi api, string hostname = "sim-01", params string[] scenarios)
    {
        api.WithMachineClock();
        var enrollment = await api.Admin().CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "console seed " + hostname });
        var state = Directory.CreateTempSubdirectory("console-seed-").FullName;
        var output = new ConcurrentQueue<string>();
        try
        {
            var settings = AgentSettings(api, enrollment.Secret, state, hostname);
            settings["Platform__Agent__HeartbeatSeconds"] = "3600";
            settings["Platform__Agent__PolicySeconds"] = "3600";
            settings["Logging__LogLevel__Default"] = "Warning";
            string[] args = scenarios.Length == 0 ? ["simulate"] : ["simulate", "--scenarios", string.Join(',', scenarios)];
            using (var agent = StartAgentProcess(args, settings, output))
            {
                using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
                try
                {
                    await agent.WaitForExitAsync(patience.Token);
                }
                catch (OperationCanceledException)
                {
                    StopAgentProcesses([agent]);
                    throw new TimeoutException("simulate did not finish within 2 minutes:\n" + string.Join("\n", output));
                }

                if (agent.ExitCode != 0)
                    throw new InvalidOperationException($"simulate exited with {agent.ExitCode}:\n" + string.Join("\n", output));
            }

            var credential = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(state, "credential.json"))).RootElement;
            await IncidentScenario.DetectAsync(api);
            return credential.GetProperty("AgentId").GetString()!;
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>A fresh API token with <paramref name="role"/> (admin, responder, analyst...), made by the admin: what a person pastes into the console's sign-in.</summary>
    public static async Task<string> TokenFor(this ConsoleApi api, Role role)
    {
        var (_, token) = await api.ClientWithRole(role);
        return token.Secret;
    }
}

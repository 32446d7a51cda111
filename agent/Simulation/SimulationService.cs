using Platform.Agent.Delivery;
using Platform.Agent.Enrollment;
using Platform.Agent.Fim;

namespace Platform.Agent.Simulation;

/// <summary>
/// <c>simulate</c>: replays scenarios through the agent's own delivery path, as its collectors would record them:
/// events into the spool, FIM alerts from the rules in force (the same matching as the watcher; the simulated
/// process is known, so alerts carry it), the node's inventory to the api. Then, if asked, steady telemetry at a
/// rate. The process ends (exit code 0) once everything is acknowledged by the api.
/// </summary>
public sealed class SimulationService(
    Spool spool, FimPolicyService fim, CredentialStore credentials, IHttpClientFactory clients, SimulationOptions options, TimeProvider time,
    IHostApplicationLifetime lifetime, ILogger<SimulationService> log) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var credential = await credentials.GetAsync(stoppingToken);
            var client = new PlatformClient(clients.CreateClient(PlatformHttp.Api));
            while (fim.Rules is null)
                await Task.Delay(Poll, time, stoppingToken); // the first policy: alerts follow the rules in force
            var rules = new FimRuleMatcher(fim.Rules);
            var run = Guid.NewGuid().ToString("N")[..8];

            foreach (var name in options.ScenarioNames)
            {
                var scenario = Scenarios.Build(name, time.GetUtcNow(), run);
                var alerts = Replay(scenario, rules);
                if (scenario.Containers.Count > 0 || scenario.Images.Count > 0)
                    await client.ReplaceInventoryAsync(new InventoryReport { Containers = scenario.Containers, Images = scenario.Images }, credential.AgentId, stoppingToken);
                Console.WriteLine($"{name}: {scenario.Steps.Count} events, {alerts} FIM alerts, {scenario.Containers.Count} containers");
            }

            if (options.Rate > 0)
                await SteadyAsync(run, stoppingToken);

            while (spool.Telemetry.Counts.Records + spool.Alerts.Counts.Records > 0)
                await Task.Delay(Poll, time, stoppingToken);
            Console.WriteLine($"delivered: agent {credential.AgentId}");
        }
        catch (Exception failure) when (!stoppingToken.IsCancellationRequested)
        {
            log.LogError(failure, "The simulation failed");
            Environment.ExitCode = 1;
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    /// <summary>Records the scenario's events, and the alerts the rules in force make of its file accesses; returns how many alerts.</summary>
    private int Replay(SimulatedScenario scenario, FimRuleMatcher rules)
    {
        spool.Record(scenario.Steps.Select(s => s.Event).ToList());
        var alerts = (
            from step in scenario.Steps
            where step.Event is FileAccessEvent && step.Process is not null
            let access = (FileAccessEvent)step.Event
            from rule in rules.Matching(access.Path, access.Operation, step.Process)
            select Simulated(FimRuleMatcher.Alert(rule, access.Path, access.Operation, access.Time, noAttributionBecause: ""), $"{access.Id}-{rule.Id[4..]}", access.Container, step.Process!)).ToList();
        if (alerts.Count > 0)
            spool.Record(alerts);
        return alerts.Count;
    }

    /// <summary>The simulated process is known: the alert names it (and its container).</summary>
    private static FimAlertReport Simulated(FimAlertReport alert, string id, ContainerRef? container, FimProcess process)
    {
        (alert.Id, alert.Container, alert.Attribution, alert.AttributionReason, alert.Process) = (id, container, FimAttribution.Available, null, process);
        return alert;
    }

    /// <summary>Steady telemetry at <see cref="SimulationOptions.Rate"/> events a second, recorded every 100 ms (as a /proc poller would).</summary>
    private async Task SteadyAsync(string run, CancellationToken stoppingToken)
    {
        var started = time.GetTimestamp();
        var duration = TimeSpan.FromSeconds(options.Seconds);
        long recorded = 0;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100), time);
        while (await tick.WaitForNextTickAsync(stoppingToken))
        {
            var elapsed = time.GetElapsedTime(started);
            var due = (long)(Math.Min(elapsed.TotalSeconds, duration.TotalSeconds) * options.Rate);
            if (due > recorded)
            {
                var now = time.GetUtcNow();
                spool.Record(Enumerable.Range(0, (int)(due - recorded)).Select(i => SteadyEvent(run, recorded + i, now)).ToList());
                recorded = due;
            }

            if (elapsed >= duration)
                break;
        }

        Console.WriteLine($"steady: {recorded} events in {options.Seconds} s");
    }

    /// <summary>A plausible mix: mostly file reads by a web server, some process starts, some connections out.</summary>
    private static TelemetryEvent SteadyEvent(string run, long n, DateTimeOffset now)
    {
        var id = $"sim-{run}-r-{n}";
        return (n % 10) switch
        {
            0 => new ProcessStartEvent { Id = id, Time = now, ProcessName = "php-fpm", Pid = 20000 + (int)(n % 5000), Ppid = 812, ParentProcessName = "php-fpm", Executable = "/usr/sbin/php-fpm8.2", Args = ["php-fpm: pool www"], User = "www-data", Uid = 33 },
            1 => new NetworkConnectEvent { Id = id, Time = now, ProcessName = "php-fpm", Pid = 20000 + (int)(n % 5000), Protocol = NetworkProtocol.Tcp, LocalAddress = "10.0.3.7", LocalPort = 40000 + (int)(n % 20000), RemoteAddress = "10.0.3.20", RemotePort = 3306 },
            _ => new FileAccessEvent { Id = id, Time = now, ProcessName = "nginx", Pid = 811, Path = $"/var/www/html/assets/{n % 997}.css", Operation = FimOperation.Read },
        };
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Platform.Agent.Collectors;
using Platform.Agent.Delivery;
using Platform.Agent.Enforcement;
using Platform.Agent.Enrollment;
using Platform.Agent.Fim;
using Platform.Agent.Observability;
using Platform.Agent.Sensor;
using Platform.Agent.Simulation;

namespace Platform.Agent;

/// <summary>
/// The node agent: enrolls once, then keeps a disk spool of what it sees and delivers it (<see cref="DeliveryService"/>),
/// and says how it is (<see cref="HeartbeatService"/>).
/// <code>dotnet run --project agent -- --server https://platform.example.com --enroll-token ple_...</code>
/// With <c>simulate</c> first it replays scenarios through the same spool and delivery, then exits (<see cref="SimulationService"/>):
/// <code>dotnet run --project agent -- simulate --server ... --enroll-token ... [--scenarios struts2,host-fim] [--rate 1000 --seconds 60]</code>
/// With <c>uninstall</c> it gives every file the attributes it had before the agent protected it (the enforcement
/// ledger in the state directory), and exits; stop the agent first, or it protects them again:
/// <code>Platform.Agent uninstall [--state-dir /var/lib/platform-agent]</code>
/// <c>--help</c> lists the commands and options (<see cref="AgentCommandLine"/>).
/// </summary>
public static class AgentProgram
{
    public static readonly Dictionary<string, string> Switches = new()
    {
        ["--server"] = $"{AgentOptions.Section}:Server",
        ["--enroll-token"] = $"{AgentOptions.Section}:EnrollToken",
        ["--enroll-token-file"] = $"{AgentOptions.Section}:EnrollTokenFile",
        ["--state-dir"] = $"{AgentOptions.Section}:StateDirectory",
        ["--hostname"] = $"{AgentOptions.Section}:Hostname",
        ["--scenarios"] = $"{SimulationOptions.Section}:Scenarios",
        ["--rate"] = $"{SimulationOptions.Section}:Rate",
        ["--seconds"] = $"{SimulationOptions.Section}:Seconds",
    };

    public static async Task<int> Main(string[] args)
    {
        var command = AgentCommandLine.Parse(args, Console.Out, Console.Error);
        if (command.ExitCode is { } parsedExit)
            return parsedExit; // help written (0), or a mistake named (2)
        var simulate = command.Verb == AgentCommandLine.Verb.Simulate;
        var uninstall = command.Verb == AgentCommandLine.Verb.Uninstall;
        var noArguments = args.Length == 0;
        args = command.Settings;
        // Only what the agent uses (no file watchers for reloading, no debug or event-source loggers): every node pays
        // for what the process holds.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { Args = args });
        builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
            .AddEnvironmentVariables().AddCommandLine(args, Switches);
        builder.Logging.AddQuietDefaults().AddConfiguration(builder.Configuration.GetSection("Logging")).AddSimpleConsole(console => console.SingleLine = true);
        if (builder.Configuration[$"{SensorOptions.Section}:Mode"] is { } mode && !Enum.GetNames<SensorMode>().Contains(mode, StringComparer.OrdinalIgnoreCase))
        {
            await Console.Error.WriteLineAsync($"{SensorOptions.Section}:Mode must be auto, ebpf, fallback or none; it is '{mode}'.");
            return 2;
        }

        // Spelt as documented (inode-attributes); the binder knows the enum's names only.
        if (builder.Configuration[$"{EnforcementOptions.Section}:Mode"] is { } enforcementMode)
        {
            if (!EnforcementOptions.TryParseMode(enforcementMode, out var parsed))
            {
                await Console.Error.WriteLineAsync($"{EnforcementOptions.Section}:Mode must be auto, inode-attributes, fanotify or none; it is '{enforcementMode}'.");
                return 2;
            }

            builder.Configuration[$"{EnforcementOptions.Section}:Mode"] = parsed.ToString();
        }

        var options = builder.Configuration.GetSection(AgentOptions.Section).Get<AgentOptions>() ?? new AgentOptions();
        if (uninstall)
            return await UninstallAsync(options);
        if (options.Server is null)
        {
            // Started bare with nothing configured: someone finding out what the agent is.
            if (noArguments)
                AgentCommandLine.WriteHelp(Console.Error);
            await Console.Error.WriteLineAsync($"The api's address is needed: --server https://... (or Platform__Agent__Server). '{AgentCommandLine.Name} --help' lists the commands and their options.");
            return 2;
        }

        if (EnrollTokenFile.Load(options) is { } tokenProblem)
        {
            await Console.Error.WriteLineAsync(tokenProblem);
            return 2;
        }

        // Checked here, before anything runs: a pattern that cannot be used is a clear error at start-up.
        if (Platform.Contracts.SecretRedactor.Create(options.Redaction, $"{AgentOptions.Section}:Redaction", out var redactionProblems) is not { } redactor)
        {
            foreach (var problem in redactionProblems)
                await Console.Error.WriteLineAsync(problem);
            return 2;
        }

        if (options.Sensor.Problem() is { } sensorProblem)
        {
            await Console.Error.WriteLineAsync(sensorProblem);
            return 2;
        }

        if (options.Enforcement.Problem() is { } enforcementProblem)
        {
            await Console.Error.WriteLineAsync(enforcementProblem);
            return 2;
        }

        if (options.Enforcement.Mode == EnforcementMode.InodeAttributes && EnforcementChoice.NoInodeAttributes() is { } noAttributes)
        {
            await Console.Error.WriteLineAsync($"Prevention by inode attributes ({EnforcementOptions.Section}:Mode=inode-attributes) is not possible: {noAttributes}.");
            return 3;
        }

        builder.Services.AddSingleton(redactor);
        if (simulate)
            (options.CollectorMilliseconds, options.InventorySeconds, options.WatchFiles, options.BaselineHours) = (0, 0, false, 0); // the scenarios stand in for what the node would show

        // The sensor is chosen once, here: with Mode=ebpf, one that cannot load stops the agent before it runs.
        var sensor = SensorChoice.Choose(options);
        if (options.Sensor.Mode == SensorMode.Ebpf && sensor.Sensor is null && options.CollectorMilliseconds > 0)
        {
            await Console.Error.WriteLineAsync($"The kernel sensor ({SensorOptions.Section}:Mode=ebpf) could not be loaded: {sensor.State.Reason}");
            foreach (var line in sensor.Warnings.SelectMany(w => w.Split('\n')).TakeLast(20))
                await Console.Error.WriteLineAsync($"libbpf: {line}");
            return 3;
        }

        if (AgentObservability.Problem(builder.Configuration) is { } observabilityProblem)
        {
            await Console.Error.WriteLineAsync(observabilityProblem);
            return 2;
        }

        builder.Services.AddSingleton(sensor);
        builder.Services.AddPlatformAgent(options).AddAgentObservability(builder.Configuration); // metrics exported only when configured
        if (simulate)
        {
            var simulation = builder.Configuration.GetSection(SimulationOptions.Section).Get<SimulationOptions>() ?? new SimulationOptions();
            if (simulation.Problem() is { } problem)
            {
                await Console.Error.WriteLineAsync(problem);
                return 2;
            }

            builder.Services.AddSingleton(simulation).AddHostedService<SimulationService>();
        }

        await builder.Build().RunAsync();
        return Environment.ExitCode;
    }

    /// <summary>Every attribute in the enforcement ledger given back; exit code 0 when all were, 1 when some could not be.</summary>
    private static async Task<int> UninstallAsync(AgentOptions options)
    {
        using var logs = LoggerFactory.Create(logging => logging.AddSimpleConsole(console => console.SingleLine = true));
        var ledger = new EnforcementLedger(options.StateDirectory, logs.CreateLogger("Platform.Agent.Uninstall"));
        if (!File.Exists(ledger.FilePath))
        {
            await Console.Out.WriteLineAsync($"Nothing to give back: {ledger.FilePath} does not exist.");
            return 0;
        }

        var enforcement = new InodeAttributeEnforcement(ledger, options.Enforcement, logs.CreateLogger<InodeAttributeEnforcement>());
        var before = enforcement.Protected;
        var restored = enforcement.RestoreAll();
        var left = enforcement.Protected;
        await Console.Out.WriteLineAsync($"Gave {restored} of {before} protected files and directories their original attributes back.");
        if (left > 0)
        {
            await Console.Error.WriteLineAsync($"{left} could not be given back (see above); they stay in {ledger.FilePath}.");
            return 1;
        }

        File.Delete(ledger.FilePath);
        return 0;
    }

    public static IServiceCollection AddPlatformAgent(this IServiceCollection services, AgentOptions options, Func<HttpMessageHandler>? transport = null)
    {
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(provider => new UserNames(provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton(provider => new Spool(Path.Combine(options.StateDirectory, "spool"), options.SpoolMaxBytes, provider.GetService<Platform.Contracts.SecretRedactor>()));
        services.AddSingleton<CredentialStore>();
        services.AddPlatformClient(options, transport);
        services.AddMetrics().AddSingleton<AgentMetrics>();
        services.AddSingleton<DeliveryService>();
        services.AddHostedService(provider => provider.GetRequiredService<DeliveryService>());
        services.AddSingleton<IEnforcement>(provider => EnforcementChoice.Choose(options, provider.GetRequiredService<ILoggerFactory>().CreateLogger<IEnforcement>()));
        services.AddSingleton<EnforcementService>();
        services.AddHostedService(provider => provider.GetRequiredService<EnforcementService>());
        services.AddSingleton<OwnReads>();
        services.AddSingleton<FimPolicyService>();
        services.AddHostedService(provider => provider.GetRequiredService<FimPolicyService>());
        services.AddSingleton<FimBaseline>();
        services.AddHostedService(provider => provider.GetRequiredService<FimBaseline>());
        services.TryAddSingleton(_ => SensorChoice.Choose(options));
        services.AddSingleton(provider => provider.GetRequiredService<SensorChoice>().State);
        services.AddSingleton<ProcessTable>();
        services.AddSingleton<ISensorRecordConverter, ProcessRecordConverter>();
        services.AddSingleton<ISensorRecordConverter, NetworkRecordConverter>();
        services.AddSingleton(new SensitiveFiles(options.Sensor.SensitivePaths, options.Sensor.NotSecretPaths));
        services.AddSingleton<ISensorRecordConverter, FileRecordConverter>();
        services.AddHostedService<SensitiveFileService>();
        services.AddSingleton<TamperSensor>();
        services.AddSingleton<ISensorRecordConverter, TamperRecordConverter>();
        services.AddSingleton<SensorService>();
        services.AddHostedService(provider => provider.GetRequiredService<SensorService>());
        services.AddSingleton<FlightDataCollector>();
        services.AddHostedService(provider => provider.GetRequiredService<FlightDataCollector>());
        services.AddHostedService<Downtime>(); // after the collectors: the gap ends when they record again
        services.AddHostedService<ContainerInventoryCollector>();
        services.AddHostedService<HeartbeatService>();
        return services;
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using Platform.Agent.Simulation;

namespace Platform.Agent;

/// <summary>
/// The agent's commands and their options, for <c>--help</c> and for telling a mistyped command from a run. The values
/// themselves are read as configuration (<see cref="AgentProgram.Switches"/>): an option is the short name of a
/// setting, and any setting may also be given as <c>--Platform:Agent:...=value</c> (hence unmatched tokens are not errors).
/// </summary>
public static class AgentCommandLine
{
    public const string Name = "Platform.Agent";

    public enum Verb
    {
        Run,
        Simulate,
        Uninstall,
    }

    /// <summary>What the arguments ask for: a command, help (already written), or a mistake (already written; exit code 2).</summary>
    public sealed record Parsed(Verb Verb, string[] Settings, int? ExitCode);

    public static Command Commands()
    {
        // A Command, not a RootCommand: that one names itself after the executable without its extension ("Platform")
        // and offers --version, which the agent has no use for.
        var root = new Command(
            Name,
            $"""
            {Name}: the Platform node agent. It enrolls once with an enrollment token, then records what runs on the
            node, watches the files FIM rules protect and delivers it all to the api through a disk spool.
            Without a command it runs (as 'run' does). Every option is also a setting: --server is Platform:Agent:Server,
            given as Platform__Agent__Server=... in the environment or --Platform:Agent:Server=... here; the other
            settings are in agent/AgentOptions.cs. Exit codes: 0 stopped; 2 wrong usage or settings; 3 a requested
            sensor or enforcement is not possible on this kernel; 4 the api says this agent was decommissioned.
            """)
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        root.Options.Add(new HelpOption());
        foreach (var option in RunOptions())
            root.Options.Add(option);
        // The root runs too (a systemd unit starts the agent bare, configured by its environment): an action of its own
        // keeps the parser from asking for a command. Only help is invoked here; the commands run in AgentProgram.
        root.SetAction(_ => 0);

        var run = new Command("run", "Enroll (first time), then record, watch and deliver until stopped (SIGTERM).") { TreatUnmatchedTokensAsErrors = false };
        foreach (var option in RunOptions())
            run.Options.Add(option);

        var simulate = new Command("simulate", "Replay attack scenarios through the real spool and delivery to the api, then exit.") { TreatUnmatchedTokensAsErrors = false };
        foreach (var option in RunOptions())
            simulate.Options.Add(option);
        simulate.Options.Add(new Option<string>("--scenarios") { Description = $"Comma-separated scenarios to replay (default: all of {string.Join(", ", Scenarios.Names)}).", HelpName = "names" });
        simulate.Options.Add(new Option<int>("--rate") { Description = "Background events per second to send besides the scenarios (default 0: none).", HelpName = "events" });
        simulate.Options.Add(new Option<int>("--seconds") { Description = "How long to send background events, with --rate (default 60).", HelpName = "seconds" });

        var uninstall = new Command("uninstall", "Give every file the agent protected its original attributes back, then exit (stop the agent first).") { TreatUnmatchedTokensAsErrors = false };
        uninstall.Options.Add(StateDirectory());

        root.Subcommands.Add(run);
        root.Subcommands.Add(simulate);
        root.Subcommands.Add(uninstall);
        return root;
    }

    /// <summary>Reads the arguments; help and mistakes are written here (help to stdout, mistakes to stderr).</summary>
    public static Parsed Parse(string[] args, TextWriter output, TextWriter error)
    {
        var root = Commands();
        var result = root.Parse(args);
        var verb = result.CommandResult.Command.Name switch
        {
            "simulate" => Verb.Simulate,
            "uninstall" => Verb.Uninstall,
            _ => Verb.Run,
        };
        if (result.Action is HelpAction)
        {
            result.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return new Parsed(verb, [], 0);
        }

        if (result.Errors.Count > 0)
        {
            foreach (var mistake in result.Errors)
                error.WriteLine("error: " + mistake.Message);
            error.WriteLine($"'{Name} --help' lists the commands and their options.");
            return new Parsed(verb, [], 2);
        }

        // The rest, without the command's name, is read as configuration.
        var command = result.CommandResult.Command == root ? -1 : Array.IndexOf(args, result.CommandResult.Command.Name);
        return new Parsed(verb, [.. args.Where((_, i) => i != command)], null);
    }

    /// <summary>The commands and options, as --help shows them, to <paramref name="writer"/> (no arguments and nothing configured).</summary>
    public static void WriteHelp(TextWriter writer) =>
        Commands().Parse(["--help"]).Invoke(new InvocationConfiguration { Output = writer, Error = writer });

    private static IEnumerable<Option> RunOptions() =>
    [
        new Option<string>("--server") { Description = "The api's address, e.g. https://platform.example.com (Platform:Agent:Server). Required.", HelpName = "url" },
        new Option<string>("--enroll-token") { Description = "The enrollment token (ple_...), used once: afterwards the agent's own credential in the state directory is (Platform:Agent:EnrollToken). Visible to ps: prefer --enroll-token-file.", HelpName = "token" },
        new Option<string>("--enroll-token-file") { Description = "A file holding the enrollment token, read only while the agent has not enrolled yet (Platform:Agent:EnrollTokenFile). Not with --enroll-token.", HelpName = "file" },
        StateDirectory(),
        new Option<string>("--hostname") { Description = "The name this node reports (default: the machine's name; Platform:Agent:Hostname).", HelpName = "name" },
    ];

    private static Option<string> StateDirectory() =>
        new("--state-dir") { Description = "Where the credential, the spool and the enforcement ledger are kept (default /var/lib/platform-agent; Platform:Agent:StateDirectory).", HelpName = "directory" };
}

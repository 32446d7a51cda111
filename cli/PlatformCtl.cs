using System.Net.Sockets;
using Platform.Cli.Access;
using Platform.Cli.Agents;
using Platform.Cli.Fim;
using Platform.Cli.Forensics;
using Platform.Cli.Incidents;
using Platform.Cli.Webhooks;

namespace Platform.Cli;

/// <summary>The command tree, and how a run ends: its exit code and, on failure, what it prints.</summary>
public static class PlatformCtl
{
    public static RootCommand Commands(CliHost host)
    {
        var root = new RootCommand(
            """
            platformctl: the Platform API from pipelines, SOAR tools and a terminal.

            Exit codes: 0 done; 1 the API refused (its problem details are printed), could not be reached, or a
            check failed; 2 wrong usage or no server/token configured; 3 a dry run found changes to make; 130
            interrupted (Ctrl+C).
            Server and token: --server / PLATFORM_SERVER and --token-file / PLATFORM_TOKEN / PLATFORM_TOKEN_FILE,
            else the profile saved by 'platformctl login'.
            """);
        root.With([.. GlobalOptions.All]).With(
            ProfileCommands.Login(host),
            ProfileCommands.Logout(host),
            ProfileCommands.Profile(host),
            AgentCommands.Agents(host),
            FimCommands.Fim(host),
            IncidentCommands.Incidents(host),
            ForensicCommands.Forensics(host),
            BundleCommands.Bundle(host),
            WebhookCommands.Webhooks(host),
            TokenCommands.Tokens(host),
            TokenCommands.Enroll(host),
            AuditCommands.Audit(host));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CliHost host, CancellationToken cancellationToken = default)
    {
        var parsed = Commands(host).Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
                await host.Error.WriteLineAsync("error: " + error.Message);
            await host.Error.WriteLineAsync($"See 'platformctl {string.Join(' ', CommandPath(parsed))} --help'.");
            return ExitCodes.Usage;
        }

        try
        {
            return await parsed.InvokeAsync(
                new InvocationConfiguration { Output = host.Out, Error = host.Error, EnableDefaultExceptionHandler = false },
                cancellationToken);
        }
        catch (CliException ex)
        {
            await host.Error.WriteLineAsync("error: " + ex.Message);
            return ex.ExitCode;
        }
        catch (PlatformApiException ex)
        {
            await host.Error.WriteAsync(ProblemText.Describe(ex));
            return ExitCodes.Error;
        }
        catch (HttpRequestException ex)
        {
            await host.Error.WriteLineAsync($"error: cannot reach the API: {Reason(ex)}");
            return ExitCodes.Error;
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C (or the caller's token); a bundle download keeps its part for the next run.
            await host.Error.WriteLineAsync("interrupted");
            return ExitCodes.Interrupted;
        }
    }

    private static IEnumerable<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null && result.Command is not RootCommand; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, result.Command.Name);
        return names;
    }

    private static string Reason(HttpRequestException ex) =>
        ex.InnerException is SocketException socket ? $"{ex.Message} ({socket.SocketErrorCode})" : ex.Message;
}

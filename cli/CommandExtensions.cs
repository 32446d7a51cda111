namespace Platform.Cli;

public static class CommandExtensions
{
    /// <summary>What the command does, given the invocation; returns the exit code.</summary>
    public static TCommand Does<TCommand>(this TCommand command, CliHost host, Func<Invocation, CancellationToken, Task<int>> action)
        where TCommand : Command
    {
        command.SetAction((parsed, cancellationToken) => action(new Invocation(parsed, host), cancellationToken));
        return command;
    }

    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Option option:
                    command.Options.Add(option);
                    break;
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Command subcommand:
                    command.Subcommands.Add(subcommand);
                    break;
            }
        }

        return command;
    }
}

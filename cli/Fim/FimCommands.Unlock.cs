namespace Platform.Cli.Fim;

/// <summary><c>fim unlock RULE --minutes N --reason TEXT</c> and <c>fim lock RULE</c>: a deployment's time-boxed window.</summary>
public static partial class FimCommands
{
    private static Command Unlock(CliHost host)
    {
        var rule = new Argument<string>("rule") { Description = "The prevent rule's id or name." };
        var minutes = new Option<int>("--minutes") { Description = "How long the protection stays lifted, from now (1 to 1440).", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (a change ticket): written to the audit log.", Required = true };
        return new Command("unlock", "Lift a prevent rule's protection for a few minutes (audited); agents put it back when the window ends.")
            .With(rule, minutes, reason)
            .Does(host, async (run, cancellationToken) =>
            {
                var client = run.Client();
                var id = await RuleIdAsync(client, run.Get(rule)!, cancellationToken);
                var window = await client.UnlockFimRuleAsync(new FimRuleUnlockRequest { Minutes = run.Get(minutes), Reason = run.Get(reason)! }, id, cancellationToken);
                run.Output.Result($"unlocked {window.RuleId} until {Output.Time(window.Until)} ({window.Id}): {window.Reason}");
                return ExitCodes.Ok;
            });
    }

    private static Command Lock(CliHost host)
    {
        var rule = new Argument<string>("rule") { Description = "The prevent rule's id or name." };
        return new Command("lock", "End a rule's unlock window now (audited); agents put the protection back at their next policy poll.")
            .With(rule)
            .Does(host, async (run, cancellationToken) =>
            {
                var client = run.Client();
                var id = await RuleIdAsync(client, run.Get(rule)!, cancellationToken);
                await client.LockFimRuleAsync(id, cancellationToken);
                if (!run.Output.Json)
                    run.Output.Text($"locked {id}");
                return ExitCodes.Ok;
            });
    }
}

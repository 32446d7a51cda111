namespace Platform.Cli.Access;

/// <summary><c>audit list</c>: who changed what, when (admin).</summary>
public static class AuditCommands
{
    public static Command Audit(CliHost host)
    {
        var actor = new Option<string?>("--actor") { Description = "Only changes made with this token (its id)." };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. fim-rule.update, token.create, incident.resolve." };
        var targetType = new Option<string?>("--target-type") { Description = "Only changes to this kind of thing, e.g. fim-rule, token, incident." };
        var targetId = new Option<string?>("--target") { Description = "Only changes to this thing (its id)." };
        var since = new Option<DateTimeOffset?>("--since") { Description = "At or after (RFC 3339)." };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Before (RFC 3339)." };
        return new Command("audit", "The audit log (admin).").With(
            new Command("list", "Changes, newest first; -o json has each one's before and after.").With(actor, action, targetType, targetId, since, until).Lists<AuditEntry>(
                host,
                async (client, run, cursor, limit, cancellationToken) => await client.ListAuditEntriesAsync(
                    limit, cursor, run.Get(actor), run.Get(action), run.Get(targetType), run.Get(targetId), run.Get(since), run.Get(until), cancellationToken),
                ("time", e => Output.Time(e.Time)),
                ("action", e => e.Action),
                ("target", e => $"{e.TargetType} {e.TargetId}"),
                ("by", e => $"{e.ActorTokenId ?? "-"} ({e.ActorRole})")));
    }
}

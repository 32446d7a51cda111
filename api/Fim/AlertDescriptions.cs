namespace Platform.Api.Fim;

/// <summary>The sentence people read first: "application.cfg written by vi (pid 4242, user deploy) on web-01".</summary>
public static class AlertDescriptions
{
    public static string Describe(FimAlertReport alert, string hostname)
    {
        var file = Path.GetFileName(alert.Path) is { Length: > 0 } name ? name : alert.Path;
        var what = alert.Effect switch
        {
            FimAlertEffect.Prevented => $"{Verb(alert.Action, attempt: true)} {file} prevented",
            FimAlertEffect.AttributeRemoved => $"protection of {file} removed",
            _ => $"{file} {Verb(alert.Action, attempt: false)}",
        };
        var who = alert.Process is { } p
            ? $" by {p.Name} (pid {p.Pid}{(string.IsNullOrEmpty(p.User) ? p.Uid is { } uid ? $", uid {uid}" : "" : $", user {p.User}")})"
            : "";
        var where = $" on {hostname}" + (alert.Container is { } c ? $" in container {c.Name ?? c.Id}{(c.Image is null ? "" : $" ({c.Image})")}" : "");
        var unknown = alert.Attribution == FimAttribution.Unavailable ? $"; process unknown: {alert.AttributionReason}" : "";
        var unsupported = alert.Effect == FimAlertEffect.PreventUnsupported
            ? "; the rule says prevent, but this host could not block it" + (string.IsNullOrWhiteSpace(alert.EffectReason) ? "" : $": {alert.EffectReason}")
            : "";
        var removed = alert.Effect == FimAlertEffect.AttributeRemoved && !string.IsNullOrWhiteSpace(alert.EffectReason) ? $": {alert.EffectReason}" : "";
        var unlocked = alert.Unlocked == true ? "; during an unlock window of the rule" : "";
        return what + who + where + unknown + unsupported + removed + unlocked;
    }

    private static string Verb(FimOperation action, bool attempt) => (action, attempt) switch
    {
        (FimOperation.Read, false) => "read",
        (FimOperation.Write, false) => "written",
        (FimOperation.Create, false) => "created",
        (FimOperation.Delete, false) => "deleted",
        (FimOperation.Metadata, false) => "had its metadata changed",
        (FimOperation.Rename, false) => "renamed",
        (FimOperation.Read, true) => "read of",
        (FimOperation.Write, true) => "write to",
        (FimOperation.Create, true) => "creation of",
        (FimOperation.Delete, true) => "deletion of",
        (FimOperation.Metadata, true) => "metadata change of",
        (_, true) => "rename of",
        _ => action.ToString().ToLowerInvariant(),
    };
}

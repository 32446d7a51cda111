namespace Platform.Api.Fim;

/// <summary>
/// FIM alerts as RFC 4180 CSV for auditors' spreadsheets. Cells that a spreadsheet would run as a formula
/// (starting with = + - @) are prefixed with an apostrophe: alert data comes from watched hosts.
/// </summary>
public static class AlertCsv
{
    public const string Header =
        "id,firstSeen,lastSeen,count,agentId,hostname,container,image,path,action,effect,severity,ruleId,ruleName,ruleVersion,attribution,process,pid,user,executable,commandLine,sha256Before,sha256After,description";

    public static string Row(FimAlert a) => string.Join(',', new[]
    {
        a.Id, Time(a.FirstSeen), Time(a.LastSeen), a.Count.ToString(CultureInfo.InvariantCulture), a.AgentId, a.Hostname,
        a.Container?.Name ?? a.Container?.Id, a.Container?.Image, a.Path, SpecEnum.ToSpec(a.Action), SpecEnum.ToSpec(a.Effect),
        SpecEnum.ToSpec(a.Severity), a.RuleId, a.RuleName, a.RuleVersion.ToString(CultureInfo.InvariantCulture), SpecEnum.ToSpec(a.Attribution),
        a.Process?.Name, a.Process?.Pid.ToString(CultureInfo.InvariantCulture), a.Process?.User, a.Process?.Executable, a.Process?.CommandLine,
        a.Before?.Sha256, a.After?.Sha256, a.Description,
    }.Select(Cell));

    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return "";
        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
            value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string Time(DateTimeOffset time) => Rfc3339.ToString(time);
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Auth;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Contracts;

namespace Platform.Api.Fim;

/// <summary>Bound from <c>Platform:Fim</c>.</summary>
public sealed class FimOptions
{
    public const string Section = "Platform:Fim";

    /// <summary>Identical alerts within this many seconds of the first are folded into it.</summary>
    public int FoldWindowSeconds { get; set; } = 300;
}

public sealed class FimAlertBatchValidator : AbstractValidator<FimAlertBatch>
{
    public const int MaxAlerts = 500;

    public FimAlertBatchValidator()
    {
        RuleFor(b => b.Alerts).NotEmpty().Must(a => a.Count <= MaxAlerts).WithMessage($"At most {MaxAlerts} alerts a batch.");
        RuleForEach(b => b.Alerts).ChildRules(alert =>
        {
            alert.RuleFor(a => a.Id).NotEmpty().MaximumLength(64).Matches("^[A-Za-z0-9_-]+$");
            alert.RuleFor(a => a.Path).NotEmpty().MaximumLength(4096).Must(p => p.StartsWith('/')).WithMessage("'path' must be absolute.");
            alert.RuleFor(a => a.Action).IsInEnum();
            alert.RuleFor(a => a.Effect).IsInEnum();
            alert.RuleFor(a => a.Process).NotNull().When(a => a.Attribution == FimAttribution.Available)
                .WithMessage("'process' is required when attribution is 'available'.");
            alert.RuleFor(a => a.AttributionReason).NotEmpty().When(a => a.Attribution == FimAttribution.Unavailable)
                .WithMessage("'attributionReason' is required when attribution is 'unavailable'.");
            alert.RuleFor(a => a.Process!.Name).NotEmpty().MaximumLength(256).When(a => a.Process is not null);
        });
    }
}

public sealed class FimAlertEndpoints(AgentStore agents, FimAlertStore alerts, FimPolicyCache rules, FimOptions options) : FimAlertsHandlersBase
{
    private static readonly JsonSerializerOptions DetailsJson = RuleSpecs.Json;

    public override async Task<IResult> PushFimAlerts(HttpContext http, FimAlertBatch body, string agentId, CancellationToken cancellationToken)
    {
        if (!http.Caller().MaySee(agentId))
            return Problems.Forbidden("An agent may only push its own alerts.");
        var agent = await agents.FindAsync(agentId, cancellationToken);
        if (agent is null)
            return Problems.NotFound($"Agent '{agentId}' does not exist.");

        var incoming = new List<IncomingAlert>(body.Alerts.Count);
        foreach (var report in body.Alerts)
        {
            var (ruleName, severity) = await rules.DescribeRuleAsync(report.RuleId, report.RuleVersion, cancellationToken);
            incoming.Add(new IncomingAlert(
                report.Id,
                report.Time.ToUniversalTime(),
                FoldKey(agentId, report),
                report.Path,
                SpecEnum.ToSpec(report.Action),
                SpecEnum.ToSpec(report.Effect),
                report.RuleId,
                report.RuleVersion,
                ruleName,
                SpecEnum.ToSpec(severity),
                JsonSerializer.Serialize(new AlertDetails(report.Container, report.Attribution, report.AttributionReason, report.Process, report.Before, report.After), DetailsJson),
                AlertDescriptions.Describe(report, agent.Hostname)));
        }

        var result = await alerts.IngestAsync(agentId, agent.Hostname, incoming, TimeSpan.FromSeconds(options.FoldWindowSeconds), cancellationToken);
        return TypedResults.Ok(new FimAlertBatchResult { Received = body.Alerts.Count, Stored = result.Stored, Folded = result.Folded, Duplicates = result.Duplicates });
    }

    public override async Task<IResult> ListFimAlerts(HttpContext http, int limit, string? cursor, string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = Filter(hostname, agentId, ruleId, pathPrefix, pathGlob, action, effect, severity, since, until);
        var rows = await alerts.QueryAsync(filter, Cursor.Decode(cursor), limit + 1, cancellationToken);
        var (items, next) = Cursor.Page(rows, limit, row => row.AlertId);
        return TypedResults.Ok(new FimAlertPage { Items = items.Select(ToContract).ToList(), NextCursor = next });
    }

    public override Task<IResult> ExportFimAlerts(HttpContext http, ExportFormat? format, string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = Filter(hostname, agentId, ruleId, pathPrefix, pathGlob, action, effect, severity, since, until);
        var csv = format == ExportFormat.Csv;
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"fim-alerts-{stamp}.{(csv ? "csv" : "jsonl")}\"";
        return Task.FromResult<IResult>(Results.Stream(
            async stream =>
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 64 * 1024);
                if (csv)
                    await writer.WriteLineAsync(AlertCsv.Header);
                string? after = null;
                while (true)
                {
                    var rows = await alerts.QueryAsync(filter, after, 1000, cancellationToken);
                    foreach (var row in rows)
                        await writer.WriteLineAsync(csv ? AlertCsv.Row(ToContract(row)) : JsonSerializer.Serialize(ToContract(row), DetailsJson));
                    await writer.FlushAsync(cancellationToken);
                    if (rows.Count < 1000)
                        break;
                    after = rows[^1].AlertId;
                }
            },
            csv ? "text/csv; charset=utf-8" : "application/x-ndjson"));
    }

    public static FimAlert ToContract(FimAlertRow row)
    {
        var details = JsonSerializer.Deserialize<AlertDetails>(row.DetailsJson, DetailsJson)!;
        return new FimAlert
        {
            Id = row.AlertId,
            AgentId = row.AgentId,
            Hostname = row.Hostname,
            Container = details.Container,
            Path = row.Path,
            Action = SpecEnum.FromSpec<FimOperation>(row.Action),
            Effect = SpecEnum.FromSpec<FimAlertEffect>(row.Effect),
            RuleId = row.RuleId,
            RuleVersion = row.RuleVersion,
            RuleName = row.RuleName,
            Severity = SpecEnum.FromSpec<FimSeverity>(row.Severity),
            Attribution = details.Attribution,
            AttributionReason = details.AttributionReason,
            Process = details.Process,
            Before = details.Before,
            After = details.After,
            Description = row.Description,
            Count = row.Count,
            FirstSeen = row.FirstSeen,
            LastSeen = row.LastSeen,
        };
    }

    private static FimAlertFilter Filter(string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until)
    {
        if (pathGlob is not null && Glob.PathProblem(pathGlob) is { } problem)
            throw new BadHttpRequestException($"Query parameter 'pathGlob' {problem}.");
        return new FimAlertFilter(
            hostname, agentId, ruleId, pathPrefix, pathGlob is null ? null : Glob.PathRegex(pathGlob),
            action is { } a ? SpecEnum.ToSpec(a) : null,
            effect is { } e ? SpecEnum.ToSpec(e) : null,
            severity is { } s ? SpecEnum.ToSpec(s) : null,
            since, until);
    }

    /// <summary>Same host (agent), path, action, process executable and rule: the same alert, for folding.</summary>
    private static string FoldKey(string agentId, FimAlertReport report)
    {
        var executable = report.Process?.Executable ?? report.Process?.Name ?? "";
        var key = string.Join('\n', agentId, report.Path, SpecEnum.ToSpec(report.Action), executable, report.RuleId);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
    }

    private sealed record AlertDetails(FimContainer? Container, FimAttribution Attribution, string? AttributionReason, FimProcess? Process, FimFileState? Before, FimFileState? After);
}

using System.Security.Cryptography;
using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Enrollment;
using Platform.Api.Generated;

namespace Platform.Api.Fim;

/// <summary>
/// Checks a batch in one pass: this runs for every 500 alerts an agent pushes, so it is a loop rather than
/// a child validator per alert (which costs ten times more). Field names match the JSON ("alerts[3].path").
/// </summary>
public sealed class FimAlertBatchValidator : AbstractValidator<FimAlertBatch>
{
    public FimAlertBatchValidator(IngestClock clock)
    {
        RuleFor(b => b.Alerts).Custom((alerts, context) =>
        {
            for (var i = 0; i < alerts.Count; i++)
            {
                var a = alerts[i];
                if (clock.InTheFuture(a.Time))
                    context.AddFailure($"alerts[{i}].time", clock.Refusal("time"));
                if (a.Attribution == FimAttribution.Available && a.Process is null)
                    context.AddFailure($"alerts[{i}].process", "'process' is required when attribution is 'available'.");
                if (a.Attribution == FimAttribution.Unavailable && string.IsNullOrWhiteSpace(a.AttributionReason))
                    context.AddFailure($"alerts[{i}].attributionReason", "'attributionReason' is required when attribution is 'unavailable'.");
                if (a.Effect == FimAlertEffect.AttributeRemoved && a.Action != FimOperation.Metadata)
                    context.AddFailure($"alerts[{i}].action", "An 'attribute-removed' alert is a 'metadata' change (the inode's attributes).");
                if (a.Effect == FimAlertEffect.AttributeRemoved && a.Unlocked == true)
                    context.AddFailure($"alerts[{i}].unlocked", "An 'attribute-removed' alert cannot be 'unlocked': an unlock window lifts the attribute itself, so none is removed in it.");
            }
        });
    }
}

public sealed class FimAlertEndpoints(AgentStore agents, FimAlertStore alerts, FimAlertWriter writer, FimPolicyCache rules, TimeProvider time, FimOptions options, Cursors cursors, SecretRedactor redactor, FimUnlockStore unlocks, Observability.ApiMetrics metrics) : FimAlertsHandlersBase
{
    public override async Task<Results<Ok<FimAlert>, ProblemHttpResult>> AcknowledgeFimAlert(HttpContext http, string alertId, CancellationToken cancellationToken)
    {
        var before = await alerts.FindAsync(alertId, cancellationToken);
        if (before is null)
            return Problems.NotFound($"FIM alert '{alertId}' does not exist.");
        await writer.AcknowledgeAsync(alertId, http.Caller(), cancellationToken);
        return TypedResults.Ok(ToContract((await alerts.FindAsync(alertId, cancellationToken))!));
    }

    private static readonly JsonSerializerOptions DetailsJson = RuleSpecs.Json;
    private static readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<AlertDetails> DetailsInfo =
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<AlertDetails>)DetailsJson.GetTypeInfo(typeof(AlertDetails));

    public override async Task<Results<Ok<FimAlertBatchResult>, ProblemHttpResult>> PushFimAlerts(HttpContext http, FimAlertBatch body, string agentId, CancellationToken cancellationToken)
    {
        using var span = Observability.ApiMetrics.StartIngest(Observability.ApiMetrics.FimAlerts);
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only push its own alerts.", cancellationToken);
        if (agent is null)
            return refusal!;
        foreach (var report in body.Alerts)
            redactor.Redact(report.Process); // again, for agents that did not (docs/redaction.md)

        // A batch names few rule versions: look each up once.
        var ruleVersions = new Dictionary<(string, int), HeldRule?>();
        foreach (var key in body.Alerts.Select(a => (a.RuleId, a.RuleVersion)).Distinct())
            ruleVersions[key] = await rules.HeldAsync(key.RuleId, key.RuleVersion, cancellationToken);
        Dictionary<string, string[]> errors;
        try
        {
            errors = OutsidePolicy(agent, body.Alerts, ruleVersions);
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            // Matching is linear on paths of at most 4,096 characters: only a starved CPU gets here. Not the agent's
            // fault, so not a refusal (which it would set aside): it tries again.
            http.Response.Headers.RetryAfter = "5";
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, type: Problems.TypeFor(503), title: "The API is too busy to check these alerts now.", detail: "Try again after Retry-After seconds.");
        }

        if (errors.Count > 0)
            return Problems.Unprocessable("Alerts of this batch are not under this agent's FIM policy; nothing of the batch was stored.", errors);
        await CheckUnlockedAsync(body.Alerts, cancellationToken);

        var incoming = new List<IncomingAlert>(body.Alerts.Count);
        foreach (var report in body.Alerts)
        {
            var held = ruleVersions[(report.RuleId, report.RuleVersion)]!;
            // Someone removed the attribute a prevent rule's file was kept with: whatever the rule's severity, the
            // protection itself is gone (OutsidePolicy took it only under a prevent rule).
            var (ruleName, severity) = (held.Name, report.Effect == FimAlertEffect.AttributeRemoved ? FimSeverity.Critical : held.Severity);
            incoming.Add(new IncomingAlert(
                report.Id,
                report.Time.ToUniversalTime(),
                FoldKey(agentId, report, options.FoldWindowSeconds),
                report.Path,
                SpecEnum.ToSpec(report.Action),
                SpecEnum.ToSpec(report.Effect),
                report.RuleId,
                report.RuleVersion,
                ruleName,
                SpecEnum.ToSpec(severity),
                JsonSerializer.Serialize(new AlertDetails(report.Container, report.Attribution, report.AttributionReason, report.Process, report.Before, report.After, report.EffectReason, report.Unlocked == true ? true : null), DetailsInfo),
                AlertDescriptions.Describe(report, agent.Hostname)));
        }

        var result = await writer.IngestAsync(agent, body.Alerts, incoming, cancellationToken);
        metrics.Ingested(Observability.ApiMetrics.FimAlerts, body.Alerts.Count, result.Stored, result.Duplicates == body.Alerts.Count ? "Duplicate" : "Stored");
        metrics.Detected(Observability.ApiMetrics.FimAlerts, result.Duplicates == 0 ? body.Alerts.Select(a => a.Time) : []); // a replay's alerts were stored before
        return TypedResults.Ok(new FimAlertBatchResult { Received = body.Alerts.Count, Stored = result.Stored, Folded = result.Folded, Duplicates = result.Duplicates });
    }

    /// <summary>
    /// An alert's <c>unlocked</c> claim stands only when its time falls in an unlock window of its rule (widened by
    /// <see cref="FimOptions.UnlockGraceSeconds"/>); otherwise it is cleared: the alert is stored as an ordinary one
    /// and makes its incident. Corrected rather than refused, so that a batch is not set aside on the node (and its
    /// other alerts lost) for one claim the API does not believe.
    /// </summary>
    private async Task CheckUnlockedAsync(IReadOnlyList<FimAlertReport> reports, CancellationToken cancellationToken)
    {
        var grace = TimeSpan.FromSeconds(options.UnlockGraceSeconds);
        foreach (var claims in reports.Where(r => r.Unlocked == true).GroupBy(r => r.RuleId, StringComparer.Ordinal))
        {
            var windows = await unlocks.OverlappingAsync(claims.Key, claims.Min(r => r.Time) - grace, claims.Max(r => r.Time) + grace, cancellationToken);
            foreach (var report in claims)
            {
                if (!windows.Any(w => w.UnlockedFrom - grace <= report.Time && report.Time < w.UnlockedUntil + grace))
                    report.Unlocked = false;
            }
        }
    }

    /// <summary>
    /// Each alert must name a rule version that was in force for this agent when the alert happened (it existed, was
    /// enabled, its scope matches the agent's host name and labels, and it had not been replaced more than
    /// <see cref="FimOptions.RuleVersionGraceSeconds"/> before), and an action and path that version watches. An agent
    /// cannot file alerts under rules it was never given, nor on paths outside them.
    /// </summary>
    private Dictionary<string, string[]> OutsidePolicy(AgentRow agent, IReadOnlyList<FimAlertReport> reports, Dictionary<(string, int), HeldRule?> held)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var labels = Labels.Read(agent.LabelsJson);
        var grace = TimeSpan.FromSeconds(options.RuleVersionGraceSeconds);
        for (var i = 0; i < reports.Count; i++)
        {
            var a = reports[i];
            var rule = held[(a.RuleId, a.RuleVersion)];
            var (field, reason) = rule switch
            {
                null => ("ruleVersion", $"Rule {a.RuleId} has no version {a.RuleVersion}: no agent was given it."),
                { Enabled: false } => ("ruleVersion", $"Version {a.RuleVersion} of rule {a.RuleId} is disabled."),
                _ when !rule.AppliesTo(agent.Hostname, labels) => ("ruleId", $"Rule {a.RuleId} (version {a.RuleVersion}) does not apply to this agent: its scope matches neither its host name nor its labels."),
                { ReplacedAt: { } replaced } when a.Time > replaced + grace => ("ruleVersion",
                    string.Create(CultureInfo.InvariantCulture, $"Version {a.RuleVersion} of rule {a.RuleId} was replaced at {replaced.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}; alerts dated more than {options.RuleVersionGraceSeconds} s later cannot name it.")),
                // Only a prevent rule's files are kept with an attribute that can be removed.
                { Prevents: false } when a.Effect == FimAlertEffect.AttributeRemoved => ("effect", $"Rule {a.RuleId} (version {a.RuleVersion}) is not a 'prevent' rule: the agent keeps no attribute on its files to remove."),
                // An inode attribute refuses every change to what a prevent rule protects; each refusal is reported, and
                // so is its removal, which lifts the protection from every operation.
                _ when !rule.Operations.Contains(a.Action) && !(rule.Prevents && a.Effect is FimAlertEffect.Prevented or FimAlertEffect.AttributeRemoved) => ("action", $"Rule {a.RuleId} (version {a.RuleVersion}) does not watch '{SpecEnum.ToSpec(a.Action)}'."),
                _ when !rule.Covers(a.Path) => ("path", $"The path is not one rule {a.RuleId} (version {a.RuleVersion}) watches (outside its paths, or excluded)."),
                _ => (null, null),
            };
            if (field is not null)
                errors[$"alerts[{i}].{field}"] = [reason!];
        }

        return errors;
    }

    public override async Task<Results<Ok<FimAlertPage>, ProblemHttpResult>> ListFimAlerts(HttpContext http, int limit, string? cursor, string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = Filter(hostname, agentId, ruleId, pathPrefix, pathGlob, action, effect, severity, since, until);
        var after = cursors.TryDecode(CursorLists.FimAlerts, cursor, out var key) ? key : null;
        var end = await alerts.ScanEndAsync(after, options.ListScanAlerts, cancellationToken);
        AlertScan scan;
        try
        {
            scan = await alerts.ScanAsync(filter, after, end, limit, cancellationToken);
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            // Not expected of a linear matcher on paths of at most 4,096 characters; a bound all the same.
            throw new BadHttpRequestException($"Query parameter 'pathGlob' took longer than {FimGlob.MatchTimeout.TotalMilliseconds} ms to match one path.");
        }

        return TypedResults.Ok(new FimAlertPage { Items = scan.Rows.Select(ToContract).ToList(), NextCursor = scan.More ? cursors.Encode(CursorLists.FimAlerts, scan.ResumeAfter!) : null });
    }

    public override async Task<Results<PushStreamHttpResult, ProblemHttpResult>> ExportFimAlerts(HttpContext http, ExportFormat? format, string? cursor, string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var filter = Filter(hostname, agentId, ruleId, pathPrefix, pathGlob, action, effect, severity, since, until);
        var csv = format == ExportFormat.Csv;
        var after = cursors.TryDecode(CursorLists.FimAlertExport, cursor, out var key) ? key : null;
        // The export's share is known before the first byte, so the cursor of the rest can be a header.
        var end = await alerts.ScanEndAsync(after, options.ExportScanAlerts, cancellationToken);
        ContinuationHeaders.Set(http, end is null ? null : cursors.Encode(CursorLists.FimAlertExport, end));

        var stamp = time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"fim-alerts-{stamp}.{(csv ? "csv" : format == ExportFormat.Ocsf ? "ocsf.jsonl" : "jsonl")}\"";
        return TypedResults.Stream(
            async stream =>
            {
                // The body is the server's to close, not the writer's (a middleware may still read it back).
                await using var writer = new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 64 * 1024, leaveOpen: true);
                if (csv && after is null)
                    await writer.WriteLineAsync(AlertCsv.Header);
                var from = after;
                while (true)
                {
                    var scan = await alerts.ScanAsync(filter, from, end, 1000, cancellationToken);
                    foreach (var row in scan.Rows)
                        await writer.WriteLineAsync(format switch
                        {
                            ExportFormat.Csv => AlertCsv.Row(ToContract(row)),
                            ExportFormat.Ocsf => Ocsf.OcsfFlightData.FimAlert(ToContract(row)).ToJsonString(),
                            _ => JsonSerializer.Serialize(ToContract(row), DetailsJson),
                        });
                    await writer.FlushAsync(cancellationToken);
                    if (scan.ResumeAfter is null || scan.ResumeAfter == end)
                        break;
                    from = scan.ResumeAfter;
                }
            },
            csv ? "text/csv; charset=utf-8" : "application/x-ndjson");
    }

    public static FimAlert ToContract(FimAlertRow row)
    {
        var details = JsonSerializer.Deserialize(row.DetailsJson, DetailsInfo)!;
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
            EffectReason = details.EffectReason,
            Process = details.Process,
            Before = details.Before,
            After = details.After,
            Description = row.Description,
            Count = row.Count,
            FirstSeen = row.FirstSeen,
            LastSeen = row.LastSeen,
            AcknowledgedAt = row.AcknowledgedAt,
            AcknowledgedBy = row.AcknowledgedBy,
            Unlocked = details.Unlocked,
        };
    }

    private static FimAlertFilter Filter(string? hostname, string? agentId, string? ruleId, string? pathPrefix, string? pathGlob, FimOperation? action, FimAlertEffect? effect, FimSeverity? severity, DateTimeOffset? since, DateTimeOffset? until)
    {
        return new FimAlertFilter(
            hostname, agentId, ruleId, pathPrefix, pathGlob is null ? null : Glob.PathOrBadRequest(pathGlob, "pathGlob"),
            action is { } a ? SpecEnum.ToSpec(a) : null,
            effect is { } e ? SpecEnum.ToSpec(e) : null,
            severity is { } s ? SpecEnum.ToSpec(s) : null,
            since, until);
    }

    /// <summary>
    /// Same host (agent), path, action, effect, process executable and user, rule, and file states before and after,
    /// in the same fold window (windows of FoldWindowSeconds aligned to the Unix epoch): the same alert, folded into
    /// one. What differs in any of these is another alert: a write that got through never hides in a prevented one,
    /// a second user or another content is never lost in a count.
    /// </summary>
    private static string FoldKey(string agentId, FimAlertReport report, int windowSeconds)
    {
        var executable = report.Process?.Executable ?? report.Process?.Name ?? "";
        var window = report.Time.ToUnixTimeSeconds() / Math.Max(1, windowSeconds);
        var identity = string.Join('\n', agentId, report.Path, SpecEnum.ToSpec(report.Action), SpecEnum.ToSpec(report.Effect), executable,
            report.Process?.User ?? "", report.Process?.Uid?.ToString(CultureInfo.InvariantCulture) ?? "", report.RuleId, State(report.Before), State(report.After));
        // A change made in an unlock window never folds into one made outside it (nor the other way round).
        if (report.Unlocked == true)
            identity += "\nunlocked";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)), 0, 16);
        // The hash is the identity; what comes before it orders the index. The window first, then the agent
        // and the start of the path: the alerts of a burst (one host, one directory tree, one window) land on
        // neighbouring index pages, so a batch dirties a few pages instead of one per alert, which halves
        // what a commit writes. The path is cut so the key stays well inside PostgreSQL's index entry limit.
        var pathPrefix = report.Path.Length <= FoldKeyPathChars ? report.Path : report.Path[..(char.IsHighSurrogate(report.Path[FoldKeyPathChars - 1]) ? FoldKeyPathChars - 1 : FoldKeyPathChars)];
        return string.Concat(window.ToString("D12", CultureInfo.InvariantCulture), "\n", agentId, "\n", pathPrefix, "\n", hash);
    }

    private const int FoldKeyPathChars = 200;

    private static string State(FimFileState? state) =>
        state is null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{state.Sha256}/{state.Size}/{state.Mode}");

    internal sealed record AlertDetails(ContainerRef? Container, FimAttribution Attribution, string? AttributionReason, FimProcess? Process, FimFileState? Before, FimFileState? After, string? EffectReason = null, bool? Unlocked = null);
}

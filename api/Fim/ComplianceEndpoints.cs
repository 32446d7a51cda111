using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Enrollment;
using Platform.Api.Generated;

namespace Platform.Api.Fim;

public sealed class FimBaselineCheckBatchValidator : AbstractValidator<FimBaselineCheckBatch>
{
    public FimBaselineCheckBatchValidator(IngestClock clock)
    {
        RuleForEach(b => b.Checks).ChildRules(check =>
        {
            check.RuleFor(c => c.CheckedAt).Must(at => !clock.InTheFuture(at)).WithMessage(_ => clock.Refusal("checkedAt"));
            check.When(c => c.Change is not null, () =>
            {
                check.RuleFor(c => c.Change!.At).Must(at => !clock.InTheFuture(at)).OverridePropertyName("change.at").WithMessage(_ => clock.Refusal("change.at"));
                // A difference belongs to a check that says there is one; an append the rule permits, to a match.
                check.RuleFor(c => c.Change!.Seen)
                    .Must((c, seen) => seen == FimBaselineChangeSeen.PermittedAppend ? c.Result == FimBaselineResult.Match : c.Result is FimBaselineResult.Changed or FimBaselineResult.Missing)
                    .OverridePropertyName("change.seen")
                    .WithMessage("'change.seen' must be 'live' or 'comparison' on a 'changed' or 'missing' check, and 'permitted-append' on a 'match' check.");
            });
        });
    }
}

/// <summary>
/// PCI DSS evidence, from what the agent reported and never from the policy alone: 10.3.4 (v3.2.1 10.5.5, audit log
/// files watched with allowAppend, seen on the node, no open tamper alert) and 11.5.2 (v3.2.1 11.5, critical files
/// compared with their baseline at least weekly). Each requirement and path is pass, fail or no-evidence.
/// </summary>
public sealed class ComplianceEndpoints(AgentStore agents, ComplianceStore compliance, ComplianceWriter writer, FimPolicyCache policies, FimAlertStore alerts, TimeProvider time, IngestClock clock, FimOptions options) : ComplianceHandlersBase
{
    public static readonly string[] LogIntegrityTags = ["pci-dss:10.3.4", "pci-dss:10.5.5"];
    public static readonly string[] BaselineTags = ["pci-dss:11.5.2", "pci-dss:11.5"];
    private static readonly TimeSpan BaselineMaxAge = TimeSpan.FromDays(7);

    public override async Task<Results<NoContent, ProblemHttpResult>> PushFimBaselineChecks(HttpContext http, FimBaselineCheckBatch body, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only report its own baseline checks.", cancellationToken);
        if (agent is null)
            return refusal!;
        await writer.RecordChecksAsync(agentId, body.Checks.Select(c => new BaselineCheckRow
        {
            RuleId = c.RuleId,
            Path = c.Path,
            CheckedAt = c.CheckedAt.ToUniversalTime(),
            Result = SpecEnum.ToSpec(c.Result),
            ChangeSeen = c.Change is { } change ? SpecEnum.ToSpec(change.Seen) : null,
            ChangeAt = c.Change?.At.ToUniversalTime(),
            ChangeAction = c.Change is { } changed ? SpecEnum.ToSpec(changed.Action) : null,
        }), cancellationToken);
        return TypedResults.NoContent();
    }

    public override async Task<Results<Ok<PciReport>, FileContentHttpResult, ProblemHttpResult>> GetPciReport(HttpContext http, ReportFormat? format, string agentId, CancellationToken cancellationToken)
    {
        var agent = await agents.FindAsync(agentId, cancellationToken);
        if (agent is null)
            return Problems.NotFound($"Agent '{agentId}' does not exist.");
        var now = time.GetUtcNow();
        var (rules, _) = await policies.PolicyForAsync(agent.Hostname, Labels.Read(agent.LabelsJson), cancellationToken);
        // A comparison dated later than ingest accepts (stored before times were checked) proves nothing.
        var checks = (await compliance.ChecksAsync(agentId, cancellationToken)).Where(c => !clock.InTheFuture(c.CheckedAt)).ToDictionary(c => (c.RuleId, c.Path));
        var openAlerts = (await alerts.OpenAlertsAsync(agentId, 200, cancellationToken)).Select(FimAlertEndpoints.ToContract).ToList();
        var status = agent.ToContract().Status;
        var watched = (status?.Fim.Paths ?? []).GroupBy(p => (p.RuleId, p.Path)).ToDictionary(g => g.Key, g => g.First().State);
        var heartbeat = Heartbeat(agent.StatusReportedAt, now);

        var report = new PciReport
        {
            AgentId = agentId,
            Hostname = agent.Hostname,
            GeneratedAt = now,
            LastHeartbeatAt = agent.StatusReportedAt,
            Rules = rules.Select(r => new PciRuleCoverage
            {
                RuleId = r.Id, Name = r.Name, Paths = r.Paths.Select(p => p.Path).ToList(), AllowAppend = r.AllowAppend, ComplianceTags = r.ComplianceTags,
            }).ToList(),
            Requirements = [LogIntegrity(rules, watched, heartbeat, openAlerts), Baselines(rules, watched, checks, agent.StatusReportedAt is not null, now)],
            OpenAlerts = openAlerts,
        };

        if (format != ReportFormat.Csv)
            return TypedResults.Ok(report);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"pci-report-{agent.Hostname}-{now:yyyyMMdd}.csv\"";
        return TypedResults.File(Encoding.UTF8.GetBytes(Csv(report)), "text/csv; charset=utf-8");
    }

    /// <summary>Why the agent's reported watch states are no evidence (null when they are).</summary>
    private string? Heartbeat(DateTimeOffset? reportedAt, DateTimeOffset now) => reportedAt switch
    {
        null => "the agent never reported its status in a heartbeat",
        { } at when now - at > TimeSpan.FromSeconds(options.PciHeartbeatMaxAgeSeconds) => $"the agent's last heartbeat ({Time(at)}) is older than {options.PciHeartbeatMaxAgeSeconds} s",
        _ => null,
    };

    private static PciRequirement Requirement(string id, string v321Id, string title, List<PciPathEvidence> paths, string? policyFailure, Func<string> passing)
    {
        var state = policyFailure is not null || paths.Any(p => p.State == PciState.Fail) ? PciState.Fail
            : paths.Count == 0 || paths.Any(p => p.State == PciState.NoEvidence) ? PciState.NoEvidence
            : PciState.Pass;
        var detail = policyFailure
            ?? (state == PciState.Pass ? passing() : $"{paths.Count(p => p.State == PciState.Fail)} failing, {paths.Count(p => p.State == PciState.NoEvidence)} without evidence, {paths.Count(p => p.State == PciState.Pass)} passing of {paths.Count} paths.");
        return new PciRequirement { Id = id, V321Id = v321Id, Title = title, State = state, Detail = detail, Paths = paths };
    }

    private static PciRequirement LogIntegrity(IReadOnlyList<FimRule> rules, Dictionary<(string, string), AgentFimPathState> watched, string? noHeartbeat, List<FimAlert> openAlerts)
    {
        var logRules = rules.Where(r => r.ComplianceTags.Intersect(LogIntegrityTags).Any()).ToList();
        var paths = logRules.SelectMany(rule => rule.Paths.Select(path =>
        {
            watched.TryGetValue((rule.Id, path.Path), out var state);
            var evidence = new PciPathEvidence { RuleId = rule.Id, Path = path.Path, Watch = watched.ContainsKey((rule.Id, path.Path)) ? state : null };
            var tamper = openAlerts.FirstOrDefault(a => a.Action != FimOperation.Read && HeldRule.Covers(path, a.Path));
            (evidence.State, evidence.Detail) = (tamper, noHeartbeat, evidence.Watch) switch
            {
                ({ } alert, _, _) => (PciState.Fail, $"open tamper alert {alert.Id}: {alert.Description}"),
                (_, { } why, _) => (PciState.NoEvidence, why),
                (_, _, null) => (PciState.NoEvidence, $"the agent does not report watching it (an agent older than this report, or it has not taken version {rule.Version} of the rule yet)"),
                (_, _, AgentFimPathState.Missing) => (PciState.NoEvidence, "it does not exist on the node"),
                (_, _, AgentFimPathState.Unwatchable) => (PciState.Fail, "it exists on the node but the agent cannot watch it"),
                _ when !rule.AllowAppend => (PciState.Fail, $"watched by {rule.Name} without allowAppend"),
                _ => (PciState.Pass, $"watched with allowAppend by {rule.Name}"),
            };
            return evidence;
        })).ToList();
        var withoutAppend = logRules.Where(r => !r.AllowAppend).Select(r => r.Name).ToList();
        var policyFailure = logRules.Count == 0 ? $"No enabled rule tagged {string.Join(" or ", LogIntegrityTags)} covers this host."
            : withoutAppend.Count > 0 ? $"Rules tagged {string.Join(" or ", LogIntegrityTags)} without allowAppend (every append would alert): {string.Join(", ", withoutAppend)}."
            : null;
        return Requirement("10.3.4", "10.5.5", "Audit log files are monitored for changes (appends pass, any other change alerts)", paths, policyFailure,
            () => $"Log paths {string.Join(", ", paths.Select(p => p.Path).Distinct())} are on the node and watched with allowAppend by {string.Join(", ", logRules.Select(r => r.Name))}; no open tamper alert.");
    }

    private static PciRequirement Baselines(IReadOnlyList<FimRule> rules, Dictionary<(string, string), AgentFimPathState> watched, Dictionary<(string, string), BaselineCheckRow> checks, bool heartbeating, DateTimeOffset now)
    {
        var baselineRules = rules.Where(r => r.ComplianceTags.Intersect(BaselineTags).Any()).ToList();
        var paths = baselineRules.SelectMany(rule => rule.Paths.Select(path =>
        {
            checks.TryGetValue((rule.Id, path.Path), out var check);
            var result = check is null ? (FimBaselineResult?)null : SpecEnum.FromSpec<FimBaselineResult>(check.Result);
            var evidence = new PciPathEvidence
            {
                RuleId = rule.Id, Path = path.Path, LastCheckedAt = check?.CheckedAt, Result = result, Change = Change(check),
                Watch = watched.TryGetValue((rule.Id, path.Path), out var state) ? state : null,
            };
            var compared = check is null ? "" : $"compared {Time(check.CheckedAt)} ({check.Result}{Detected(evidence.Change)})";
            (evidence.State, evidence.Detail) = (check, result) switch
            {
                (null, _) when !heartbeating => (PciState.NoEvidence, "never compared, and the agent never reported its status in a heartbeat"),
                (null, _) => (PciState.Fail, "never compared"),
                (_, FimBaselineResult.Missing) => (PciState.NoEvidence, compared + ": it does not exist on the node"),
                _ when now - check.CheckedAt > BaselineMaxAge => (PciState.Fail, compared + ": more than 7 days ago"),
                (_, FimBaselineResult.Match) => (PciState.Pass, compared),
                (_, FimBaselineResult.Changed) => (PciState.Fail, compared + ": it differs from its baseline"),
                _ => (PciState.Fail, compared + ": it could not be read"),
            };
            return evidence;
        })).ToList();
        var policyFailure = baselineRules.Count == 0 ? $"No enabled rule tagged {string.Join(" or ", BaselineTags)} covers this host: no critical file is compared." : null;
        return Requirement("11.5.2", "11.5", "Critical files are compared with their baseline at least weekly", paths, policyFailure,
            () => $"{paths.Count} of {paths.Count} paths compared within 7 days and matching their baseline.");
    }

    private static FimBaselineChange? Change(BaselineCheckRow? check) => check is { ChangeSeen: { } seen, ChangeAt: { } at, ChangeAction: { } action }
        ? new FimBaselineChange { Seen = SpecEnum.FromSpec<FimBaselineChangeSeen>(seen), At = at, Action = SpecEnum.FromSpec<FimOperation>(action) }
        : null;

    /// <summary>How the difference was detected, for the auditor: seen live (and when), or found by this comparison.</summary>
    private static string Detected(FimBaselineChange? change) => change?.Seen switch
    {
        FimBaselineChangeSeen.Live => $"; the {SpecEnum.ToSpec(change.Action)} was alerted live at {Time(change.At)}",
        FimBaselineChangeSeen.Comparison => $"; the {SpecEnum.ToSpec(change.Action)} was not seen live: this comparison alerted it",
        FimBaselineChangeSeen.PermittedAppend => "; only appended to, as the rule's allowAppend permits",
        _ => "",
    };

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Csv(PciReport report)
    {
        var csv = new StringBuilder("section,item,status,detail\n");
        void Row(string section, string item, string status, string detail) =>
            csv.Append(AlertCsv.Cell(section)).Append(',').Append(AlertCsv.Cell(item)).Append(',').Append(AlertCsv.Cell(status)).Append(',').Append(AlertCsv.Cell(detail)).Append('\n');

        Row("host", report.Hostname, "", $"agent {report.AgentId}, generated {Time(report.GeneratedAt)}, last heartbeat {(report.LastHeartbeatAt is { } at ? Time(at) : "never")}");
        foreach (var rule in report.Rules)
            Row("rule", rule.Name, "covers", string.Join(" ", rule.Paths) + (rule.ComplianceTags.Count > 0 ? $" [{string.Join(" ", rule.ComplianceTags)}]" : ""));
        foreach (var requirement in report.Requirements)
        {
            var section = $"{requirement.Id} (v3.2.1 {requirement.V321Id})";
            Row(section, requirement.Title, SpecEnum.ToSpec(requirement.State), requirement.Detail);
            foreach (var path in requirement.Paths)
                Row(section, path.Path, SpecEnum.ToSpec(path.State), path.Detail);
        }

        foreach (var alert in report.OpenAlerts)
            Row("open alert", alert.Id, SpecEnum.ToSpec(alert.Severity), $"{alert.Description} (x{alert.Count}, last {Time(alert.LastSeen)})");
        return csv.ToString();
    }
}

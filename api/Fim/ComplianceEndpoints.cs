using System.Globalization;
using System.Text;
using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Enrollment;
using Platform.Api.Generated;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Api.Fim;

public sealed class FimBaselineCheckBatchValidator : AbstractValidator<FimBaselineCheckBatch>
{
    public const int MaxChecks = 1000;

    public FimBaselineCheckBatchValidator(IngestClock clock)
    {
        RuleFor(b => b.Checks).NotEmpty().Must(c => c.Count <= MaxChecks).WithMessage($"At most {MaxChecks} checks a call.");
        RuleForEach(b => b.Checks).ChildRules(check =>
        {
            check.RuleFor(c => c.RuleId).Must(id => Ids.IsOf("fim", id)).WithMessage("'ruleId' must be a FIM rule id (fim_ and 32 hex digits).");
            check.RuleFor(c => c.Path).NotEmpty().MaximumLength(4096).Must(p => p.StartsWith('/')).WithMessage("'path' must be absolute.");
            check.RuleFor(c => c.Result).IsInEnum();
            check.RuleFor(c => c.CheckedAt).Must(at => !clock.InTheFuture(at)).WithMessage(_ => clock.Refusal("checkedAt"));
        });
    }
}

/// <summary>PCI DSS evidence: 10.5.5 (log files watched with allowAppend) and 11.5 (weekly baseline comparison).</summary>
public sealed class ComplianceEndpoints(AgentStore agents, ComplianceStore compliance, FimPolicyCache policies, FimAlertStore alerts, TimeProvider time, IngestClock clock) : ComplianceHandlersBase
{
    public const string LogIntegrityTag = "pci-dss:10.5.5";
    public const string BaselineTag = "pci-dss:11.5";
    private static readonly TimeSpan BaselineMaxAge = TimeSpan.FromDays(7);

    public override async Task<IResult> PushFimBaselineChecks(HttpContext http, FimBaselineCheckBatch body, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only report its own baseline checks.", cancellationToken);
        if (agent is null)
            return refusal!;
        await compliance.RecordAsync(agentId, body.Checks.Select(c => new BaselineCheckRow
        {
            RuleId = c.RuleId,
            Path = c.Path,
            CheckedAt = c.CheckedAt.ToUniversalTime(),
            Result = SpecEnum.ToSpec(c.Result),
        }), cancellationToken);
        return TypedResults.NoContent();
    }

    public override async Task<IResult> GetPciReport(HttpContext http, ReportFormat? format, string agentId, CancellationToken cancellationToken)
    {
        var agent = await agents.FindAsync(agentId, cancellationToken);
        if (agent is null)
            return Problems.NotFound($"Agent '{agentId}' does not exist.");
        var now = time.GetUtcNow();
        var (rules, _) = await policies.PolicyForAsync(agent.Hostname, Labels.Read(agent.LabelsJson), cancellationToken);
        var checks = (await compliance.ChecksAsync(agentId, cancellationToken)).ToDictionary(c => (c.RuleId, c.Path));

        var baselines = rules.Where(r => r.ComplianceTags.Contains(BaselineTag))
            .SelectMany(r => r.Paths.Select(p => (Rule: r, p.Path)))
            .Select(x =>
            {
                checks.TryGetValue((x.Rule.Id, x.Path), out var check);
                return new PciBaseline
                {
                    RuleId = x.Rule.Id,
                    Path = x.Path,
                    LastCheckedAt = check?.CheckedAt,
                    Result = check is null ? null : SpecEnum.FromSpec<FimBaselineResult>(check.Result),
                    // A comparison dated later than ingest accepts (stored before times were checked) proves nothing.
                    WithinSevenDays = check is not null && !clock.InTheFuture(check.CheckedAt) && now - check.CheckedAt <= BaselineMaxAge,
                };
            })
            .ToList();

        var report = new PciReport
        {
            AgentId = agentId,
            Hostname = agent.Hostname,
            GeneratedAt = now,
            Rules = rules.Select(r => new PciRuleCoverage
            {
                RuleId = r.Id, Name = r.Name, Paths = r.Paths.Select(p => p.Path).ToList(), AllowAppend = r.AllowAppend, ComplianceTags = r.ComplianceTags,
            }).ToList(),
            LogIntegrity = LogIntegrity(rules),
            BaselineStatus = baselines.Count == 0 ? ComplianceStatus.NotApplicable : baselines.All(b => b.WithinSevenDays) ? ComplianceStatus.Pass : ComplianceStatus.Fail,
            Baselines = baselines,
            OpenAlerts = (await alerts.OpenAlertsAsync(agentId, 200, cancellationToken)).Select(FimAlertEndpoints.ToContract).ToList(),
        };

        if (format != ReportFormat.Csv)
            return TypedResults.Ok(report);
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"pci-report-{agent.Hostname}-{now:yyyyMMdd}.csv\"";
        return TypedResults.Text(Csv(report), "text/csv", Encoding.UTF8);
    }

    private static PciLogIntegrity LogIntegrity(IReadOnlyList<FimRule> rules)
    {
        var logRules = rules.Where(r => r.ComplianceTags.Contains(LogIntegrityTag)).ToList();
        if (logRules.Count == 0)
            return new PciLogIntegrity { Status = ComplianceStatus.Fail, Detail = $"No rule tagged {LogIntegrityTag} covers this host." };
        var withoutAppend = logRules.Where(r => !r.AllowAppend).Select(r => r.Name).ToList();
        if (withoutAppend.Count > 0)
            return new PciLogIntegrity { Status = ComplianceStatus.Fail, Detail = $"Rules tagged {LogIntegrityTag} without allowAppend (every append would alert): {string.Join(", ", withoutAppend)}." };
        var paths = logRules.SelectMany(r => r.Paths.Select(p => p.Path)).Distinct();
        return new PciLogIntegrity { Status = ComplianceStatus.Pass, Detail = $"Log paths {string.Join(", ", paths)} are watched with allowAppend by {string.Join(", ", logRules.Select(r => r.Name))}." };
    }

    private static string Csv(PciReport report)
    {
        var csv = new StringBuilder("section,item,status,detail\n");
        void Row(string section, string item, string status, string detail) =>
            csv.Append(AlertCsv.Cell(section)).Append(',').Append(AlertCsv.Cell(item)).Append(',').Append(AlertCsv.Cell(status)).Append(',').Append(AlertCsv.Cell(detail)).Append('\n');

        Row("host", report.Hostname, "", $"agent {report.AgentId}, generated {report.GeneratedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}");
        foreach (var rule in report.Rules)
            Row("rule", rule.Name, "covers", string.Join(" ", rule.Paths) + (rule.ComplianceTags.Count > 0 ? $" [{string.Join(" ", rule.ComplianceTags)}]" : ""));
        Row("10.5.5", "log integrity", SpecEnum.ToSpec(report.LogIntegrity.Status), report.LogIntegrity.Detail);
        Row("11.5", "baseline comparison", SpecEnum.ToSpec(report.BaselineStatus), $"{report.Baselines.Count(b => b.WithinSevenDays)} of {report.Baselines.Count} protected paths compared within 7 days");
        foreach (var baseline in report.Baselines)
        {
            var detail = baseline.LastCheckedAt is { } at
                ? $"compared {at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)} ({SpecEnum.ToSpec(baseline.Result!.Value)})"
                : "never compared";
            Row("11.5", baseline.Path, baseline.WithinSevenDays ? "pass" : "fail", detail);
        }

        foreach (var alert in report.OpenAlerts)
            Row("open alert", alert.Id, SpecEnum.ToSpec(alert.Severity), $"{alert.Description} (x{alert.Count}, last {alert.LastSeen.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'})");
        return csv.ToString();
    }
}

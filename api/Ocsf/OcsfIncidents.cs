using System.Text.Json.Nodes;
using Platform.Api.Incidents;
using static Platform.Api.Ocsf.OcsfObjects;

namespace Platform.Api.Ocsf;

/// <summary>
/// Incidents as OCSF Incident Finding (2005), each finding of one as a Detection Finding (2004): the incident lists its
/// findings in <c>finding_info_list</c> by the same <c>uid</c> their Detection Findings carry in <c>finding_info</c>, and
/// each Detection Finding names its incident in <c>metadata.correlation_uid</c>. A finding's process tree (its lineage)
/// becomes one evidence per process, each with its parents nested in <c>parent_process</c>.
/// </summary>
public static class OcsfIncidents
{
    /// <summary>The most findings an incident lists, and the most evidence artifacts a finding carries (docs/ocsf.md).</summary>
    public const int MaxFindings = 100;
    public const int MaxEvidences = 100;

    /// <summary>How many incidents' findings an export reads in one query (at most this many times <see cref="MaxFindings"/> rows held).</summary>
    public const int FindingsReadTogether = 20;

    public static JsonObject IncidentFinding(Incident incident, IReadOnlyList<IncidentFinding> findings, Uri? consoleBase)
    {
        var status = SpecEnum.ToSpec(incident.Status);
        var (activityId, activity) = status is "resolved" or "archived" ? (3, "Close") : incident.Version <= 1 ? (1, "Create") : (2, "Update");
        var (statusId, statusName) = status switch
        {
            "open" => (1, "New"),
            "acknowledged" => (2, "In Progress"),
            "resolved" => (4, "Resolved"),
            _ => (5, "Closed"),
        };
        var evt = Header(OcsfClass.IncidentFinding, activityId, activity, incident.UpdatedAt, Severity(SpecEnum.ToSpec(incident.Severity)));
        evt["metadata"] = Metadata(incident.Id, "incidents", "incident", "host");
        evt["status_id"] = statusId;
        evt["status"] = statusName;
        evt["desc"] = incident.Summary;
        evt["start_time"] = Time(incident.FirstSeen);
        evt["end_time"] = Time(incident.LastSeen);
        evt["finding_info_list"] = new JsonArray([.. findings.Take(MaxFindings).Select(f => (JsonNode)FindingInfo(f))]);
        evt["attacks"] = Attacks(incident.Techniques);
        evt["device"] = Device(incident.Resource.AgentId, incident.Resource.Hostname);
        // OCSF wants an incident with someone: the assignee, or else the group that works unassigned incidents, which
        // on this platform is whoever holds the responder role.
        if (incident.Assignee is { } assignee)
            evt["assignee"] = new JsonObject { ["name"] = assignee };
        else
            evt["assignee_group"] = new JsonObject { ["name"] = "responder", ["type"] = "role", ["desc"] = "Unassigned: the tokens with the responder role work it." };
        evt.With("comment", incident.ResolutionReason);
        if (incident.Resolution is { } resolution)
        {
            var (verdictId, verdict) = SpecEnum.ToSpec(resolution) switch
            {
                "true-positive" => (2, "True Positive"),
                "false-positive" => (1, "False Positive"),
                _ => (5, "Benign"),
            };
            evt["verdict_id"] = verdictId;
            evt["verdict"] = verdict;
        }
        if (consoleBase is not null)
            evt["src_url"] = new Uri(consoleBase, $"console/incidents/{incident.Id}").ToString();
        evt["unmapped"] = new JsonObject
        {
            ["category"] = SpecEnum.ToSpec(incident.Category),
            ["version"] = incident.Version,
            ["finding_count"] = incident.FindingCount,
        }.With("container", Container(incident.Resource.ContainerId, incident.Resource.ContainerName, incident.Resource.Image));
        return evt;
    }

    public static JsonObject DetectionFinding(Incident incident, IncidentFinding finding)
    {
        var status = SpecEnum.ToSpec(incident.Status);
        var (statusId, statusName) = status switch
        {
            "open" => (1, "New"),
            "acknowledged" => (2, "In Progress"),
            "resolved" when incident.Resolution is IncidentResolution.FalsePositive or IncidentResolution.Benign => (3, "Suppressed"),
            "resolved" => (4, "Resolved"),
            _ => (5, "Archived"),
        };
        var evt = Header(OcsfClass.DetectionFinding, 1, "Create", finding.Time, Severity(SpecEnum.ToSpec(incident.Severity)));
        var metadata = Metadata(finding.Id, "incident-findings");
        metadata["correlation_uid"] = incident.Id;
        evt["metadata"] = metadata;
        evt["status_id"] = statusId;
        evt["status"] = statusName;
        evt["message"] = finding.Summary;
        evt["is_alert"] = true;
        evt["finding_info"] = FindingInfo(finding);
        evt["device"] = Device(incident.Resource.AgentId, incident.Resource.Hostname);
        evt["evidences"] = Evidences(finding, incident.Resource);
        evt["unmapped"] = new JsonObject { ["incident_id"] = incident.Id, ["category"] = SpecEnum.ToSpec(incident.Category) }
            .With("fim_alert_ids", finding.FimAlertIds.Count > 0 ? new JsonArray([.. finding.FimAlertIds.Select(a => (JsonNode)a)]) : null);
        return evt;
    }

    private static JsonObject FindingInfo(IncidentFinding finding)
    {
        var rule = SpecEnum.ToSpec(finding.Rule);
        return new JsonObject
        {
            ["uid"] = finding.Id,
            ["title"] = finding.Summary,
            ["analytic"] = new JsonObject { ["uid"] = rule, ["name"] = rule, ["type_id"] = 1, ["type"] = "Rule" },
            ["attacks"] = Attacks(Finding.Techniques[finding.Rule]),
            ["created_time"] = Time(finding.Time),
            ["types"] = new JsonArray(SpecEnum.ToSpec(Finding.Rules[finding.Rule].Category)),
        };
    }

    /// <summary>One artifact per process of the lineage (with its ancestors), then one per file, connection or name lookup.</summary>
    private static JsonArray Evidences(IncidentFinding finding, IncidentResource resource)
    {
        var container = resource.ContainerId is { } id ? OcsfObjects.Container(id, resource.ContainerName) : null;
        var byPid = finding.Lineage.GroupBy(p => p.Pid).ToDictionary(g => g.Key, g => g.First());
        var evidences = new List<JsonObject>();
        foreach (var process in finding.Lineage)
            evidences.Add(new JsonObject { ["process"] = Lineage(process, byPid) }.With("container", container?.DeepClone()));
        foreach (var evt in finding.Events)
        {
            if (evidences.Count >= MaxEvidences)
                break;
            var (evidence, pid) = evt switch
            {
                FileAccessEvent file => (new JsonObject { ["file"] = File(file.Path) }, file.Pid),
                NetworkConnectEvent connect => (new JsonObject
                {
                    ["src_endpoint"] = Endpoint(connect.LocalAddress, connect.LocalPort),
                    ["dst_endpoint"] = Endpoint(connect.RemoteAddress, connect.RemotePort),
                }, connect.Pid),
                DnsQueryEvent dns => (new JsonObject { ["query"] = new JsonObject { ["hostname"] = dns.Name } }, dns.Pid),
                _ => ((JsonObject?)null, (int?)null),
            };
            if (evidence is null)
                continue;
            if (pid is { } known)
                evidence["process"] = byPid.TryGetValue(known, out var process) ? Lineage(process, byPid) : Process(known, evt.ProcessName);
            evidence["name"] = OcsfFlightData.Kind(evt);
            evidence["uid"] = evt.Id;
            evidences.Add(evidence.With("container", container?.DeepClone()));
        }
        return new JsonArray([.. evidences.Take(MaxEvidences)]);
    }

    /// <summary>A process of the lineage with its known ancestors nested as parent_process, and their executables as lineage.</summary>
    private static JsonObject Lineage(LineageProcess process, IReadOnlyDictionary<int, LineageProcess> byPid)
    {
        var json = Process(process.Pid, process.Name, process.Executable);
        var ancestors = new List<LineageProcess>();
        for (var at = process; at.Ppid is { } ppid && ppid != at.Pid && byPid.TryGetValue(ppid, out var parent) && !ancestors.Contains(parent);)
        {
            ancestors.Add(parent);
            at = parent;
        }
        var current = json;
        foreach (var parent in ancestors)
        {
            var parentJson = Process(parent.Pid, parent.Name, parent.Executable);
            current["parent_process"] = parentJson;
            current = parentJson;
        }
        if (ancestors.Count > 0)
            json["lineage"] = new JsonArray([.. ancestors.Select(a => (JsonNode)(a.Executable ?? a.Name ?? a.Pid.ToString(CultureInfo.InvariantCulture)))]);
        return json;
    }

    private static JsonObject? Container(string? id, string? name, string? image)
    {
        if (id is null)
            return null;
        var container = OcsfObjects.Container(id, name);
        return image is null ? container : container.With("image_name", image);
    }
}

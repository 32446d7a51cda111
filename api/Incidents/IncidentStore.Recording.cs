using Platform.Api.Telemetry;

namespace Platform.Api.Incidents;

/// <summary>Recording findings: grouping them into incidents and linking incidents of one chain.</summary>
public sealed partial class IncidentStore
{
    /// <summary>
    /// Stores findings not stored before, each grouped into the open (or acknowledged) incident of its resource and
    /// category that shares a process of its chain (<see cref="ChainOf"/>) and was last seen within the group window, or
    /// into a new incident that pins its flight data; incidents of other categories sharing a process are linked
    /// (<see cref="IncidentRow.Related"/>). A finding stored before is revised where <paramref name="revise"/> says so
    /// (detection looked again with a late batch and knows more: a longer lineage, more evidence).
    /// Returns the incidents created or changed (<see cref="RecordedIncidents"/>); their data pins and webhook events are
    /// <see cref="IncidentWorkflow"/>'s. <paramref name="alone"/>: each new finding opens an incident of its own
    /// (the API's own <c>sensor-silent</c> incidents, which it resolves one by one).
    /// </summary>
    public async Task<RecordedIncidents> RecordAsync(Changes changes, string agentId, string hostname, IReadOnlyList<Finding> findings, CancellationToken cancellationToken,
        Func<Finding, bool>? revise = null, bool alone = false)
    {
        var touched = new Dictionary<string, IncidentRow>(StringComparer.Ordinal);
        var created = new HashSet<string>(StringComparer.Ordinal);
        var grown = new HashSet<string>(StringComparer.Ordinal);
        var (db, transaction) = (changes.Db, changes.Transaction);
        // In time order, then by what they found: the same findings are grouped the same way whatever the order they came in.
        foreach (var finding in findings.OrderBy(f => f.Time).ThenBy(f => f.Id(agentId), StringComparer.Ordinal))
        {
            var findingId = finding.Id(agentId);
            var detail = JsonSerializer.Serialize(
                new FindingDetail(finding.Lineage, finding.Events.Select(e => JsonDocument.Parse(e.Json).RootElement).ToList(), finding.FimAlertIds), Segments.Json);
            var summary = Truncate(finding.Summary, 2000);
            var chain = ChainOf(finding);
            var before = await StoredFindingAsync(changes.Write, findingId, cancellationToken)
                ?? (finding.EarlierId(agentId) is { } earlier ? await StoredFindingAsync(changes.Write, earlier, cancellationToken) : null);
            if (before is not null)
            {
                if (revise?.Invoke(finding) != true || (before.Summary == summary && before.DetailJson == detail))
                    continue;
                await db.ExecuteAsync(new CommandDefinition(
                    "update incident_finding set summary = @summary, detail_json = @detail where finding_id = @findingId",
                    new { findingId = before.FindingId, summary, detail }, transaction, cancellationToken: cancellationToken));
                var revised = touched.GetValueOrDefault(before.IncidentId) ?? await db.QuerySingleAsync<IncidentRow>(new CommandDefinition(
                    $"select {Columns} from incident where incident_id = @incidentId", new { incidentId = before.IncidentId }, transaction, cancellationToken: cancellationToken));
                if (revised.Summary == before.Summary)
                    revised.Summary = summary;
                revised.Processes = Join(Split(revised.Processes).Union(chain).Order());
                await ChangedAsync(changes, revised, cancellationToken);
                touched[revised.IncidentId] = revised;
                await RelateAsync(changes, revised, chain, finding.Time, touched, cancellationToken);
                continue;
            }

            var category = SpecEnum.ToSpec(finding.Category);
            var candidates = await db.QueryAsync<IncidentRow>(new CommandDefinition(
                $"""
                select {Columns} from incident
                where agent_id = @agentId and container_id = @containerId and category = @category and status in ('open', 'acknowledged') and last_seen >= @since
                order by last_seen desc limit 64
                """,
                new { agentId, containerId = finding.ContainerId, category, since = finding.Time - options.GroupWindow }, transaction, cancellationToken: cancellationToken));
            // A finding of a chain joins the incident of that chain; one whose processes are not known, one of none either.
            var incident = alone ? null : candidates.Select(c => touched.GetValueOrDefault(c.IncidentId) ?? c)
                .Where(i => i.Status is "open" or "acknowledged" && finding.Time >= i.LastSeen - options.GroupWindow)
                .OrderByDescending(i => i.LastSeen).ThenBy(i => i.IncidentId, StringComparer.Ordinal)
                .FirstOrDefault(i => chain.Count == 0 ? i.Processes.Length == 0 : Split(i.Processes).Overlaps(chain));

            var now = time.GetUtcNow();
            var techniques = Finding.Techniques[finding.Rule];
            if (incident is null)
            {
                incident = new IncidentRow
                {
                    IncidentId = "inc_" + findingId[4..],
                    ChangeSeq = await changes.NextChangeAsync(),
                    Category = category,
                    Severity = SpecEnum.ToSpec(finding.Severity),
                    Status = "open",
                    AgentId = agentId,
                    Hostname = hostname,
                    ContainerId = finding.ContainerId,
                    ContainerName = finding.ContainerName,
                    Image = finding.Image,
                    Summary = summary,
                    Techniques = string.Join(',', techniques),
                    FindingCount = 1,
                    FirstSeen = finding.Time,
                    LastSeen = finding.Time,
                    CreatedAt = now,
                    UpdatedAt = now,
                    Version = 1,
                    PinId = Ids.New("pin"),
                    Processes = Join(chain.Order()),
                };
                await db.ExecuteAsync(new CommandDefinition(Insert, incident, transaction, cancellationToken: cancellationToken));
                created.Add(incident.IncidentId);
            }
            else
            {
                incident.FindingCount++;
                // Its summary tells the worst of it: its earliest finding's, unless a later one is more severe (a write that
                // got through after a prevented one), whichever came in first.
                var rank = Rank(SpecEnum.ToSpec(finding.Severity));
                if (rank > Rank(incident.Severity))
                    (incident.Severity, incident.Summary) = (SpecEnum.ToSpec(finding.Severity), summary);
                else if (rank == Rank(incident.Severity) && finding.Time < incident.FirstSeen)
                    incident.Summary = summary;
                if (finding.Time < incident.FirstSeen)
                    incident.FirstSeen = finding.Time;
                if (finding.Time > incident.LastSeen)
                    incident.LastSeen = finding.Time;
                incident.Techniques = string.Join(',', incident.Techniques.Split(',').Union(techniques));
                incident.ContainerName ??= finding.ContainerName;
                incident.Image ??= finding.Image;
                incident.Processes = Join(Split(incident.Processes).Union(chain).Order());
                await ChangedAsync(changes, incident, cancellationToken);
                grown.Add(incident.IncidentId);
            }

            await db.ExecuteAsync(new CommandDefinition(
                "insert into incident_finding (finding_id, incident_id, rule, time, summary, detail_json) values (@findingId, @incidentId, @rule, @time, @summary, @detail)",
                new { findingId, incidentId = incident.IncidentId, rule = SpecEnum.ToSpec(finding.Rule), time = finding.Time, summary, detail },
                transaction, cancellationToken: cancellationToken));
            touched[incident.IncidentId] = incident;
            await RelateAsync(changes, incident, chain, finding.Time, touched, cancellationToken);
        }

        return new RecordedIncidents(touched.Values.ToList(), created, grown);
    }

    private static Task<FindingRow?> StoredFindingAsync(Database.Write write, string findingId, CancellationToken cancellationToken) =>
        write.Db.QuerySingleOrDefaultAsync<FindingRow>(new CommandDefinition(
            $"select {FindingColumns} from incident_finding where finding_id = @findingId", new { findingId }, write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Most incidents an incident is linked to (the contract's <c>relatedIncidents</c> maximum).</summary>
    public const int MaxRelated = 32;

    /// <summary>
    /// Links <paramref name="incident"/> and the other incidents of its resource that share a process of
    /// <paramref name="chain"/> and were seen within the group window of <paramref name="time"/>, both ways.
    /// </summary>
    private async Task RelateAsync(Changes changes, IncidentRow incident, IReadOnlySet<int> chain, DateTimeOffset time, Dictionary<string, IncidentRow> touched, CancellationToken cancellationToken)
    {
        if (chain.Count == 0)
            return;
        var others = await changes.Db.QueryAsync<IncidentRow>(new CommandDefinition(
            $"""
            select {Columns} from incident
            where agent_id = @agentId and container_id = @containerId and incident_id <> @incidentId and processes <> '' and last_seen >= @from and first_seen <= @until
            order by first_seen, incident_id limit 64
            """,
            new { agentId = incident.AgentId, containerId = incident.ContainerId, incidentId = incident.IncidentId, from = time - options.GroupWindow, until = time + options.GroupWindow },
            changes.Transaction, cancellationToken: cancellationToken));
        var changed = false;
        foreach (var found in others)
        {
            var other = touched.GetValueOrDefault(found.IncidentId) ?? found;
            if (!Split(other.Processes).Overlaps(chain))
                continue;
            changed |= Link(incident, other.IncidentId);
            if (Link(other, incident.IncidentId))
            {
                await ChangedAsync(changes, other, cancellationToken);
                touched[other.IncidentId] = other;
            }
        }

        if (changed)
            await ChangedAsync(changes, incident, cancellationToken);
    }

    private static bool Link(IncidentRow row, string incidentId)
    {
        var related = row.Related.Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (related.Contains(incidentId) || related.Length >= MaxRelated)
            return false;
        row.Related = string.Join(',', related.Append(incidentId));
        return true;
    }

    /// <summary>Stores a changed incident as its next change.</summary>
    private async Task ChangedAsync(Changes changes, IncidentRow row, CancellationToken cancellationToken)
    {
        row.ChangeSeq = await changes.NextChangeAsync();
        row.UpdatedAt = time.GetUtcNow();
        row.Version++;
        await changes.Db.ExecuteAsync(new CommandDefinition(Update, row, changes.Transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The chain a finding belongs to: the pids of its lineage but inits and supervisors (<see cref="DetectionOptions.LineageRoots"/>),
    /// which start everything and so join nothing. FIM findings have none: they group by resource and category.
    /// </summary>
    private IReadOnlySet<int> ChainOf(Finding finding) => finding.Rule is DetectionRule.FimProtectedWrite or DetectionRule.FimAttributeRemoved
        ? new HashSet<int>()
        : finding.Lineage.Where(p => p.Pid > 1 && !(p.Name is { } name && (_roots.Contains(name) || name.StartsWith("containerd-shim", StringComparison.Ordinal))))
            .Select(p => p.Pid).ToHashSet();

    private readonly HashSet<string> _roots = new(options.LineageRoots, StringComparer.Ordinal);

    private static HashSet<int> Split(string pids) =>
        pids.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();

    private static string Join(IEnumerable<int> pids) => string.Join(',', pids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    private static int Rank(string severity) => severity switch { "critical" => 3, "high" => 2, "medium" => 1, _ => 0 };
}

using System.Data.Common;
using System.Text.Json;
using Dapper;
using Platform.Api.Http;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Api.Incidents;

public sealed class IncidentRow
{
    public required string IncidentId { get; init; }
    public long ChangeSeq { get; set; }
    public required string Category { get; init; }
    public required string Severity { get; set; }
    public required string Status { get; set; }
    public string? Resolution { get; set; }
    public string? ResolutionReason { get; set; }
    public string? Assignee { get; set; }
    public required string AgentId { get; init; }
    public required string Hostname { get; init; }
    public required string ContainerId { get; init; }
    public string? ContainerName { get; set; }
    public string? Image { get; set; }
    public required string Summary { get; set; }
    public required string Techniques { get; set; }
    public int FindingCount { get; set; }
    public DateTimeOffset FirstSeen { get; set; }
    public DateTimeOffset LastSeen { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public int Version { get; set; }
    public string? PinId { get; set; }

    /// <summary>The chain its findings belong to: pids of their lineages' processes (no inits or supervisors), sorted, comma-separated.</summary>
    public string Processes { get; set; } = "";

    /// <summary>Incidents of the same chain, comma-separated, in the order they were linked.</summary>
    public string Related { get; set; } = "";

    /// <summary>Its status changes (<see cref="IncidentHistoryRecord"/>), a JSON array, oldest first.</summary>
    public string HistoryJson { get; set; } = "[]";
}

/// <summary>One status change as the incident keeps it (<c>history_json</c>).</summary>
public sealed record IncidentHistoryRecord(
    DateTimeOffset At, string? Actor, string From, string To, string? Resolution, string? Reason, string? PreviousResolution, string? PreviousResolutionReason);

public sealed class FindingRow
{
    public required string FindingId { get; init; }
    public required string IncidentId { get; init; }
    public required string Rule { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required string Summary { get; init; }
    public required string DetailJson { get; init; }
}

public sealed class NoteRow
{
    public required string NoteId { get; init; }
    public required string IncidentId { get; init; }
    public required string Text { get; init; }
    public string? Author { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>What a finding keeps besides its summary: lineage, evidence events (as stored) and FIM alert ids.</summary>
public sealed record FindingDetail(IReadOnlyList<LineageProcess> Lineage, IReadOnlyList<JsonElement> Events, IReadOnlyList<string> FimAlertIds);

public sealed record IncidentQuery(
    IReadOnlyCollection<IncidentStatus>? Status, IReadOnlyCollection<IncidentCategory>? Category, IReadOnlyCollection<IncidentSeverity>? Severity,
    string? AgentId, string? Hostname, string? ContainerId, DateTimeOffset? Since, DateTimeOffset? Until, DateTimeOffset? UpdatedAfter)
{
    public bool IsEmpty => Status is not { Count: > 0 } && Category is not { Count: > 0 } && Severity is not { Count: > 0 } && AgentId is null && Hostname is null
        && ContainerId is null && Since is null && Until is null && UpdatedAfter is null;
}

/// <summary>
/// What <see cref="IncidentStore.RecordAsync"/> did: every incident created or changed (<paramref name="Touched"/>, as it
/// is at the end), those it created, and those that took new findings (their events' span may have grown).
/// </summary>
public sealed record RecordedIncidents(IReadOnlyList<IncidentRow> Touched, IReadOnlySet<string> Created, IReadOnlySet<string> Grown);

/// <summary>Why a change was refused: not there (404), stale If-Match (412), not allowed from its status (409).</summary>
public enum ChangeRefusal
{
    None,
    NotFound,
    Stale,
    NotAllowed,
}

/// <summary>
/// Incidents, their findings and notes (their SQL; <see cref="IncidentWorkflow"/> changes them with their audit entries,
/// webhook events and data pins). Every change to an incident is made one at a time (PostgreSQL: a
/// transaction-scoped advisory lock; SQLite has one writer) and takes the next <c>change_seq</c>, so the order
/// of change numbers is the order of commits: what a SOAR poller's cursor relies on.
/// </summary>
public sealed class IncidentStore(Database database, DetectionOptions options, TimeProvider time)
{
    private const string Columns = """
        incident_id, change_seq, category, severity, status, resolution, resolution_reason, assignee, agent_id, hostname, container_id,
        container_name, image, summary, techniques, finding_count, first_seen, last_seen, created_at, updated_at, version, pin_id, processes, related, history_json
        """;

    private const string Insert = """
        insert into incident (incident_id, change_seq, category, severity, status, resolution, resolution_reason, assignee, agent_id, hostname, container_id,
            container_name, image, summary, techniques, finding_count, first_seen, last_seen, created_at, updated_at, version, pin_id, processes, related, history_json)
        values (@IncidentId, @ChangeSeq, @Category, @Severity, @Status, @Resolution, @ResolutionReason, @Assignee, @AgentId, @Hostname, @ContainerId,
            @ContainerName, @Image, @Summary, @Techniques, @FindingCount, @FirstSeen, @LastSeen, @CreatedAt, @UpdatedAt, @Version, @PinId, @Processes, @Related, @HistoryJson)
        """;

    private const string Update = """
        update incident set change_seq = @ChangeSeq, severity = @Severity, status = @Status, resolution = @Resolution, resolution_reason = @ResolutionReason,
            assignee = @Assignee, container_name = @ContainerName, image = @Image, techniques = @Techniques, finding_count = @FindingCount,
            first_seen = @FirstSeen, last_seen = @LastSeen, updated_at = @UpdatedAt, version = @Version, summary = @Summary, processes = @Processes,
            related = @Related, history_json = @HistoryJson
        where incident_id = @IncidentId
        """;

    /// <summary>A writing transaction in which incidents may change (see the class summary).</summary>
    public sealed class Changes(Database.Write write, Action committed) : IAsyncDisposable
    {
        public Database.Write Write => write;

        public DbConnection Db => write.Db;
        public DbTransaction Transaction => write.Transaction;
        private long _next;

        public async Task<long> NextChangeAsync()
        {
            if (_next == 0)
                _next = await Db.ExecuteScalarAsync<long>(new CommandDefinition("select coalesce(max(change_seq), 0) from incident", transaction: Transaction));
            return ++_next;
        }

        public async Task CommitAsync(CancellationToken cancellationToken)
        {
            await write.CommitAsync(cancellationToken);
            committed();
        }

        public ValueTask DisposeAsync() => write.DisposeAsync();
    }

    /// <summary>The advisory lock's key: "incident" in ASCII.</summary>
    private const long ChangeLock = 0x696e636964656e74;

    /// <summary>
    /// A transaction for incident changes, in the writer's turn (<paramref name="background"/>: detection's, which lets requests go
    /// first); <paramref name="committed"/> runs once it is committed.
    /// </summary>
    public async Task<Changes> BeginChangesAsync(Action committed, CancellationToken cancellationToken, bool background = false)
    {
        var write = await database.BeginWriteAsync(cancellationToken, background);
        if (database.Provider == StorageProvider.Postgres)
        {
            try
            {
                await write.Db.ExecuteAsync(new CommandDefinition("select pg_advisory_xact_lock(@key)", new { key = ChangeLock }, write.Transaction, cancellationToken: cancellationToken));
            }
            catch
            {
                await write.DisposeAsync();
                throw;
            }
        }

        return new Changes(write, committed);
    }

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
            "select finding_id, incident_id, rule, time, summary, detail_json from incident_finding where finding_id = @findingId", new { findingId }, write.Transaction, cancellationToken: cancellationToken));

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

    public async Task<IncidentRow?> FindAsync(string incidentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<IncidentRow>(new CommandDefinition($"select {Columns} from incident where incident_id = @incidentId", new { incidentId }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Incidents matching <paramref name="query"/> after change <paramref name="afterChange"/>, in change order, up to
    /// <paramref name="take"/>; and the last change number there was when it looked (every change up to it was
    /// committed before the list was read, so a poller may go on from there).
    /// </summary>
    public async Task<(IReadOnlyList<IncidentRow> Rows, long LastChange)> ListAsync(IncidentQuery query, long afterChange, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        // First the newest change number, then the list up to it: changes are committed in number order, so each
        // up to it is in the list's snapshot (the other way round, one committed in between could be skipped).
        var last = await db.ExecuteScalarAsync<long>(new CommandDefinition("select coalesce(max(change_seq), 0) from incident", cancellationToken: cancellationToken));
        var (where, parameters) = Where(query, afterChange);
        parameters.Add("take", take);
        parameters.Add("last", last);
        var rows = (await db.QueryAsync<IncidentRow>(new CommandDefinition(
            $"select {Columns} from incident where {where} and change_seq <= @last order by change_seq limit @take", parameters, cancellationToken: cancellationToken))).AsList();
        return (rows, last);
    }

    private static (string Where, DynamicParameters Parameters) Where(IncidentQuery query, long afterChange)
    {
        var clauses = new List<string> { "change_seq > @afterChange" };
        var parameters = new DynamicParameters(new { afterChange });
        void In<T>(string column, IReadOnlyCollection<T>? values) where T : struct, Enum
        {
            if (values is not { Count: > 0 })
                return;
            var names = values.Distinct().Select((v, i) => (Name: $"{column}{i}", Value: SpecEnum.ToSpec(v))).ToList();
            foreach (var (name, value) in names)
                parameters.Add(name, value);
            clauses.Add($"{column} in ({string.Join(", ", names.Select(n => "@" + n.Name))})");
        }

        In("status", query.Status);
        In("category", query.Category);
        In("severity", query.Severity);
        void Equal(string column, object? value, string op = "=")
        {
            if (value is null)
                return;
            clauses.Add($"{column} {op} @{column}{clauses.Count}");
            parameters.Add($"{column}{clauses.Count - 1}", value);
        }

        Equal("agent_id", query.AgentId);
        Equal("hostname", query.Hostname);
        Equal("container_id", query.ContainerId);
        Equal("last_seen", query.Since, ">=");
        Equal("last_seen", query.Until, "<");
        Equal("updated_at", query.UpdatedAfter, ">");
        return (string.Join(" and ", clauses), parameters);
    }

    public async Task<IReadOnlyList<FindingRow>> FindingsAsync(string incidentId, (DateTimeOffset Time, string Id)? after, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FindingRow>(new CommandDefinition(
            """
            select finding_id, incident_id, rule, time, summary, detail_json from incident_finding
            where incident_id = @incidentId and (@afterTime is null or time > @afterTime or (time = @afterTime and finding_id > @afterId))
            order by time, finding_id limit @take
            """,
            new { incidentId, afterTime = after?.Time, afterId = after?.Id, take }, cancellationToken: cancellationToken))).AsList();
    }

    public async Task<IReadOnlyList<NoteRow>> NotesAsync(string incidentId, string? afterId, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<NoteRow>(new CommandDefinition(
            "select note_id, incident_id, text, author, created_at from incident_note where incident_id = @incidentId and (@afterId is null or note_id > @afterId) order by note_id limit @take",
            new { incidentId, afterId, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>Whether the lifecycle allows going from <paramref name="from"/> to <paramref name="to"/> (a change to the same status is not a change).</summary>
    public static bool Allowed(string from, IncidentStatus to) => to switch
    {
        IncidentStatus.Acknowledged => from == "open",
        IncidentStatus.Resolved => from is "open" or "acknowledged",
        IncidentStatus.Archived => from is "open" or "acknowledged" or "resolved",
        IncidentStatus.Open => from is "acknowledged" or "resolved" or "archived",
        _ => false,
    };

    /// <summary>The incident to change in <paramref name="changes"/>, and whether <paramref name="ifMatch"/> lets it be changed.</summary>
    public async Task<(IncidentRow? Row, ChangeRefusal Refusal)> FindForChangeAsync(Changes changes, string incidentId, string? ifMatch, CancellationToken cancellationToken)
    {
        var row = await changes.Db.QuerySingleOrDefaultAsync<IncidentRow>(new CommandDefinition(
            $"select {Columns} from incident where incident_id = @incidentId", new { incidentId }, changes.Transaction, cancellationToken: cancellationToken));
        if (row is null)
            return (null, ChangeRefusal.NotFound);
        return ETags.Matches(ifMatch, row.Version) ? (row, ChangeRefusal.None) : (row, ChangeRefusal.Stale);
    }

    /// <summary>Stores a row changed by the caller (its change number, version and time set by the caller).</summary>
    public Task UpdateAsync(Changes changes, IncidentRow row, CancellationToken cancellationToken) =>
        changes.Db.ExecuteAsync(new CommandDefinition(Update, row, changes.Transaction, cancellationToken: cancellationToken));

    public Task InsertNoteAsync(Changes changes, NoteRow note, CancellationToken cancellationToken) =>
        changes.Db.ExecuteAsync(new CommandDefinition(
            "insert into incident_note (note_id, incident_id, text, author, created_at) values (@NoteId, @IncidentId, @Text, @Author, @CreatedAt)", note, changes.Transaction, cancellationToken: cancellationToken));

    /// <summary>Status changes an incident keeps (the newest; the audit log has them all).</summary>
    public const int MaxHistory = 100;

    public static readonly JsonSerializerOptions HistoryJson = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// For a change in bulk to <paramref name="to"/>: how many incidents match <paramref name="query"/>, how many of them
    /// the change applies to, and the first <paramref name="take"/> of those (in change order).
    /// </summary>
    public async Task<(int Matched, int Applicable, IReadOnlyList<IncidentRow> Rows)> ForBulkChangeAsync(Changes changes, IncidentQuery query, IncidentStatus to, int take, CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(query, 0);
        var matched = await changes.Db.ExecuteScalarAsync<int>(new CommandDefinition($"select count(*) from incident where {where}", parameters, changes.Transaction, cancellationToken: cancellationToken));
        // Only the incidents the change applies to are taken, so that sending the request again goes on where this one stopped.
        var from = new[] { "open", "acknowledged", "resolved", "archived" }.Where(status => Allowed(status, to)).ToList();
        var applicable = $"{where} and status in ({string.Join(", ", from.Select(f => $"'{f}'"))})";
        var applicableCount = await changes.Db.ExecuteScalarAsync<int>(new CommandDefinition($"select count(*) from incident where {applicable}", parameters, changes.Transaction, cancellationToken: cancellationToken));
        parameters.Add("take", take);
        var rows = (await changes.Db.QueryAsync<IncidentRow>(new CommandDefinition(
            $"select {Columns} from incident where {applicable} order by change_seq limit @take", parameters, changes.Transaction, cancellationToken: cancellationToken))).AsList();
        return (matched, applicableCount, rows);
    }
}

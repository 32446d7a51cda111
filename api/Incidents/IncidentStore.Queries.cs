namespace Platform.Api.Incidents;

/// <summary>Reads: an incident, lists by query and change number, findings, notes, and what a bulk change would take.</summary>
public sealed partial class IncidentStore
{
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
        var last = await LastChangeAsync(db, cancellationToken);
        var (where, parameters) = Where(query, afterChange);
        parameters.Add("take", take);
        parameters.Add("last", last);
        var rows = (await db.QueryAsync<IncidentRow>(new CommandDefinition(
            $"select {Columns} from incident where {where} and change_seq <= @last order by change_seq limit @take", parameters, cancellationToken: cancellationToken))).AsList();
        return (rows, last);
    }

    /// <summary>
    /// Incidents matching <paramref name="query"/> in <paramref name="order"/>, after <paramref name="after"/> (null: from the
    /// start), up to <paramref name="take"/>; and the last change number there was before they were read (the resumeCursor).
    /// </summary>
    public async Task<(IReadOnlyList<IncidentRow> Rows, long LastChange)> ListAsync(IncidentQuery query, IncidentOrder order, IncidentPosition? after, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var last = await LastChangeAsync(db, cancellationToken);
        var (sql, parameters) = SortedPageQuery(query, order, after, take);
        return ((await db.QueryAsync<IncidentRow>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken))).AsList(), last);
    }

    /// <summary>The SELECT of <see cref="ListAsync(IncidentQuery, IncidentOrder, IncidentPosition?, int, CancellationToken)"/> (public: a test reads its query plan).</summary>
    public static (string Sql, DynamicParameters Parameters) SortedPageQuery(IncidentQuery query, IncidentOrder order, IncidentPosition? after, int take)
    {
        var (where, parameters) = Where(query);
        if (after is not null)
        {
            where += " and " + order.After;
            parameters.Add("afterRank", after.SeverityRank);
            parameters.Add("afterSeen", after.LastSeen);
            parameters.Add("afterId", after.IncidentId);
        }

        parameters.Add("take", take);
        return ($"select {Columns} from incident where {where} order by {order.OrderBy} limit @take", parameters);
    }

    /// <summary>How many incidents match <paramref name="query"/> in each status (absent: none); one GROUP BY over an index.</summary>
    public async Task<IReadOnlyDictionary<string, int>> CountByStatusAsync(IncidentQuery query, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var (sql, parameters) = CountQuery(query);
        var counts = await db.QueryAsync<(string Status, long Count)>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
        return counts.ToDictionary(c => c.Status, c => checked((int)c.Count), StringComparer.Ordinal);
    }

    /// <summary>The SELECT of <see cref="CountByStatusAsync"/> (public: a test reads its query plan).</summary>
    public static (string Sql, DynamicParameters Parameters) CountQuery(IncidentQuery query)
    {
        var (where, parameters) = Where(query);
        return ($"select status, count(*) from incident where {where} group by status", parameters);
    }

    private static Task<long> LastChangeAsync(DbConnection db, CancellationToken cancellationToken) =>
        db.ExecuteScalarAsync<long>(new CommandDefinition("select coalesce(max(change_seq), 0) from incident", cancellationToken: cancellationToken));

    /// <summary>The WHERE of <paramref name="query"/> (and of <paramref name="afterChange"/> when given: the change order's cursor).</summary>
    private static (string Where, DynamicParameters Parameters) Where(IncidentQuery query, long? afterChange = null)
    {
        var clauses = new List<string> { "1 = 1" };
        var parameters = new DynamicParameters();
        if (afterChange is { } change)
        {
            clauses.Add("change_seq > @afterChange");
            parameters.Add("afterChange", change);
        }

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

    /// <summary>A finding's columns, as <see cref="FindingRow"/> reads them.</summary>
    private const string FindingColumns = "finding_id, incident_id, rule, time, summary, detail_json";

    private const string FindingsSql =
        $"""
        select {FindingColumns} from incident_finding
        where incident_id = @incidentId and (@afterTime is null or time > @afterTime or (time = @afterTime and finding_id > @afterId))
        order by time, finding_id limit @take
        """;

    public async Task<IReadOnlyList<FindingRow>> FindingsAsync(string incidentId, (DateTimeOffset Time, string Id)? after, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FindingRow>(new CommandDefinition(
            FindingsSql, new { incidentId, afterTime = after?.Time, afterId = after?.Id, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>
    /// The first <paramref name="takeEach"/> findings of each of <paramref name="incidentIds"/> (in finding order), in one
    /// query: a page of incidents exported with their findings costs one query per group of incidents, not one per incident.
    /// </summary>
    public async Task<ILookup<string, FindingRow>> FindingsOfAsync(IReadOnlyCollection<string> incidentIds, int takeEach, CancellationToken cancellationToken)
    {
        if (incidentIds.Count == 0)
            return Array.Empty<FindingRow>().ToLookup(f => f.IncidentId, StringComparer.Ordinal);
        // Dapper passes a list to PostgreSQL as one array parameter, and spreads it into parameters for SQLite.
        var ids = database.Provider == StorageProvider.Postgres ? "incident_id = any(@incidentIds)" : "incident_id in @incidentIds";
        await using var db = await database.OpenAsync(cancellationToken);
        var rows = await db.QueryAsync<FindingRow>(new CommandDefinition(
            $"""
            select {FindingColumns} from (
              select {FindingColumns},
                     row_number() over (partition by incident_id order by time, finding_id) as position
              from incident_finding where {ids}) numbered
            where position <= @takeEach order by incident_id, time, finding_id
            """,
            new { incidentIds = incidentIds.ToArray(), takeEach }, cancellationToken: cancellationToken));
        return rows.ToLookup(f => f.IncidentId, StringComparer.Ordinal);
    }

    /// <summary>The first findings of an incident as a write sees them (its own findings, not yet committed, included).</summary>
    public Task<IReadOnlyList<FindingRow>> FindingsAsync(Database.Write write, string incidentId, int take, CancellationToken cancellationToken) =>
        write.QueryAsync<FindingRow>(FindingsSql, new { incidentId, afterTime = (DateTimeOffset?)null, afterId = (string?)null, take }, cancellationToken);

    public async Task<IReadOnlyList<NoteRow>> NotesAsync(string incidentId, string? afterId, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<NoteRow>(new CommandDefinition(
            "select note_id, incident_id, text, author, created_at from incident_note where incident_id = @incidentId and (@afterId is null or note_id > @afterId) order by note_id limit @take",
            new { incidentId, afterId, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>
    /// For a change in bulk to <paramref name="to"/>: how many incidents match <paramref name="query"/>, how many of them
    /// the change applies to, and the first <paramref name="take"/> of those (in change order).
    /// </summary>
    public async Task<(int Matched, int Applicable, IReadOnlyList<IncidentRow> Rows)> ForBulkChangeAsync(Changes changes, IncidentQuery query, IncidentStatus to, int take, CancellationToken cancellationToken)
    {
        var (where, parameters) = Where(query);
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

using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;
using Platform.Api.Storage;

namespace Platform.Api.Fim;

/// <summary>One alert of a batch, checked and described, ready to store or fold.</summary>
public sealed record IncomingAlert(
    string ClientId,
    DateTimeOffset Time,
    string FoldKey,
    string Path,
    string Action,
    string Effect,
    string RuleId,
    int RuleVersion,
    string RuleName,
    string Severity,
    string DetailsJson,
    string Description);

public sealed class FimAlertRow
{
    public required string AlertId { get; init; }
    public required string AgentId { get; init; }
    public required string Hostname { get; init; }
    public required string Path { get; init; }
    public required string Action { get; init; }
    public required string Effect { get; init; }
    public required string RuleId { get; init; }
    public required int RuleVersion { get; init; }
    public required string RuleName { get; init; }
    public required string Severity { get; init; }
    public required string DetailsJson { get; init; }
    public required string Description { get; init; }
    public required long Count { get; init; }
    public required DateTimeOffset FirstSeen { get; init; }
    public required DateTimeOffset LastSeen { get; init; }
    public DateTimeOffset? AcknowledgedAt { get; init; }
    public string? AcknowledgedBy { get; init; }
}

public sealed record FimAlertFilter(
    string? Hostname, string? AgentId, string? RuleId, string? PathPrefix, Platform.Contracts.FimGlob? PathGlob,
    string? Action, string? Effect, string? Severity, DateTimeOffset? Since, DateTimeOffset? Until);

public sealed record IngestResult(int Stored, int Folded, int Duplicates);

/// <summary>The alerts of an agent in a window, summed up: see <see cref="FimAlertStore.WindowAsync"/>.</summary>
public sealed class FimAlertWindow
{
    public required long Alerts { get; init; }
    public required long Sightings { get; init; }
    public required string LastId { get; init; }
    public required string LastSeen { get; init; }
    public required long Acknowledged { get; init; }
    public required string LastAcknowledged { get; init; }
}

/// <summary>The alerts one bounded read found; when there may be more, the next read starts after <c>ResumeAfter</c>.</summary>
public sealed record AlertScan(IReadOnlyList<FimAlertRow> Rows, string? ResumeAfter, bool More);

/// <summary>
/// FIM alert storage. Ingest is the hot path: one transaction per batch in the SQLite writer's turn, a receipt
/// per alert id (inserted 100 a statement) to recognise retries, and one upsert per distinct alert, on a statement
/// prepared once for the batch, which folds it into the identical alert of its fold window (the window is part of
/// the fold key, whose order keeps a burst's rows on neighbouring index pages).
/// </summary>
public sealed class FimAlertStore(Database database)
{
    private const string Columns = "alert_id, agent_id, hostname, path, action, effect, rule_id, rule_version, rule_name, severity, details_json, description, count, first_seen, last_seen";
    private const string ReadColumns = Columns + ", acknowledged_at, acknowledged_by";

    public async Task<IngestResult> IngestAsync(string agentId, string hostname, IReadOnlyList<IncomingAlert> alerts, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var (db, transaction) = (write.Db, write.Transaction);
        await using var rows = new RowWriter(db, transaction);

        // A receipt that already exists is a retry: acknowledged, not counted again. Receipts go in 100 a
        // statement; the statement returns the ids it inserted, the others were already there.
        var ordered = alerts.OrderBy(a => a.Time).ToList();
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in ordered.Select(a => a.ClientId).Distinct(StringComparer.Ordinal).Chunk(ReceiptRows))
            await rows.RunAsync(ReceiptSql(chunk.Length), [agentId, .. chunk], inserted, cancellationToken);

        var groups = new Dictionary<string, Group>(StringComparer.Ordinal);
        var fresh = 0;
        foreach (var alert in ordered)
        {
            // Remove, so that an id repeated within the batch counts once.
            if (!inserted.Remove(alert.ClientId))
                continue;
            fresh++;
            if (groups.TryGetValue(alert.FoldKey, out var group))
                group.Add(alert.Time);
            else
                groups[alert.FoldKey] = new Group(alert);
        }

        // One upsert per distinct alert: it either starts an alert or folds into the one of its window
        // (which reopens it if it had been acknowledged: there is new activity to look at). PostgreSQL returns
        // this batch's id when the upsert started an alert; on SQLite the new alerts are counted afterwards.
        var postgres = database.Provider == StorageProvider.Postgres;
        var ids = Ids.New("fal", groups.Count);
        var started = new HashSet<string>(StringComparer.Ordinal);
        var upsert = postgres ? UpsertPostgres : UpsertSqlite;
        var index = 0;
        foreach (var group in groups.Values)
        {
            var a = group.First;
            await rows.RunAsync(upsert, [ids[index++], agentId, hostname, a.Path, a.Action, a.Effect, a.RuleId, a.RuleVersion, a.RuleName, a.Severity, a.DetailsJson, a.Description,
                group.Count, SqlMapping.Timestamp(group.FirstSeen), SqlMapping.Timestamp(group.LastSeen), a.FoldKey], started, cancellationToken);
        }

        var stored = started.Count;
        if (!postgres && ids.Length > 0)
        {
            // The ids of this batch are increasing and nothing else writes alerts during our turn: the rows in
            // their range are the alerts this batch started.
            stored = await db.ExecuteScalarAsync<int>(new CommandDefinition(
                "select count(*) from fim_alert where alert_id between @first and @last", new { first = ids[0], last = ids[^1] }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return new IngestResult(stored, fresh - stored, alerts.Count - fresh);
    }

    private static readonly string UpsertSqlite = UpsertSql(postgres: false);

    private static readonly string UpsertPostgres = UpsertSql(postgres: true);

    private static string UpsertSql(bool postgres) => $"""
        insert into fim_alert ({Columns}, fold_key)
        values (@alert_id, @agent_id, @hostname, @path, @action, @effect, @rule_id, @rule_version, @rule_name, @severity, @details_json, @description, @count, @first_seen, @last_seen, @fold_key)
        on conflict (fold_key) do update set
            count = fim_alert.count + excluded.count,
            first_seen = {(postgres ? "least" : "min")}(fim_alert.first_seen, excluded.first_seen),
            last_seen = {(postgres ? "greatest" : "max")}(fim_alert.last_seen, excluded.last_seen),
            acknowledged_at = null,
            acknowledged_by = null
        {(postgres ? "returning case when alert_id = @alert_id then alert_id end" : "")}
        """;

    /// <summary>The stored alert each fold key went into.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AlertIdsAsync(IReadOnlyCollection<string> foldKeys, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        if (foldKeys.Count == 0)
            return ids;
        await using var db = await database.OpenAsync(cancellationToken);
        foreach (var chunk in foldKeys.Chunk(100))
        {
            // Named parameters, one a key: Dapper expands "in @list" on SQLite but hands PostgreSQL an array.
            var parameters = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
                parameters.Add($"k{i}", chunk[i]);
            var rows = await db.QueryAsync<(string FoldKey, string AlertId)>(new CommandDefinition(
                $"select fold_key, alert_id from fim_alert where fold_key in ({string.Join(", ", chunk.Select((_, i) => $"@k{i}"))})", parameters, cancellationToken: cancellationToken));
            foreach (var (foldKey, alertId) in rows)
                ids[foldKey] = alertId;
        }

        return ids;
    }

    /// <summary>
    /// Where a bounded read after <paramref name="afterId"/> stops: the <paramref name="scanRows"/>-th alert in storage
    /// order (a walk of the primary key's index), or null when fewer are left. A sparse filter (a host without alerts,
    /// a glob that matches nothing) over millions of alerts would otherwise read them all in one request; a request
    /// reads up to this end and the caller pages on from it.
    /// </summary>
    public async Task<string?> ScanEndAsync(string? afterId, int scanRows, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            $"select alert_id from fim_alert {(afterId is null ? "" : "where alert_id > @afterId")} order by alert_id limit 1 offset @skip",
            new { afterId, skip = scanRows - 1 }, cancellationToken: cancellationToken));
    }

    /// <summary>How many (id, path) pairs a glob read takes a statement.</summary>
    private const int GlobChunk = 2000;

    /// <summary>
    /// Up to <paramref name="limit"/> alerts after <paramref name="afterId"/> and up to <paramref name="end"/> (null: the
    /// last) that match. <see cref="AlertScan.ResumeAfter"/> is where the next page starts: after the page's last alert
    /// when more matches are known, else <paramref name="end"/>. A glob, which SQL cannot do, is matched here on ids and
    /// paths only (it may have to look at every alert in the range); the matching alerts are then read whole.
    /// </summary>
    public async Task<AlertScan> ScanAsync(FimAlertFilter filter, string? afterId, string? end, int limit, CancellationToken cancellationToken)
    {
        string Sql(string columns) => $"""
            select {columns} from fim_alert
            where alert_id > @afterId {(end is null ? "" : "and alert_id <= @end")}
              {FilterConditions}
            order by alert_id
            limit @chunk
            """;
        await using var db = await database.OpenAsync(cancellationToken);
        // One more than the page: it says whether the page ends the matches.
        if (filter.PathGlob is not { } glob)
        {
            var rows = (await db.QueryAsync<FimAlertRow>(new CommandDefinition(Sql(ReadColumns), Parameters(filter, afterId ?? "", end, limit + 1), cancellationToken: cancellationToken))).AsList();
            var (page, resume, more) = Page(rows, limit, end, row => row.AlertId);
            return new AlertScan(page, resume, more);
        }

        var matched = new List<string>(limit + 1);
        var from = afterId ?? "";
        while (matched.Count <= limit)
        {
            var rows = (await db.QueryAsync<(string AlertId, string Path)>(new CommandDefinition(Sql("alert_id, path"), Parameters(filter, from, end, GlobChunk), cancellationToken: cancellationToken))).AsList();
            foreach (var (id, path) in rows)
            {
                if (matched.Count <= limit && glob.IsMatch(path))
                    matched.Add(id);
            }

            if (rows.Count < GlobChunk)
                break;
            from = rows[^1].AlertId;
        }

        var (found, after, further) = Page(matched, limit, end, id => id);
        if (found.Count == 0)
            return new AlertScan([], after, further);
        var ids = database.Provider == StorageProvider.Postgres ? "alert_id = any(@matched)" : "alert_id in @matched";
        var alerts = (await db.QueryAsync<FimAlertRow>(new CommandDefinition(
            $"select {ReadColumns} from fim_alert where {ids} order by alert_id", new { matched = found.ToArray() }, cancellationToken: cancellationToken))).AsList();
        return new AlertScan(alerts, after, further);
    }

    /// <summary>At most <paramref name="limit"/> of up to limit + 1 matches, and where the next page starts.</summary>
    private static (IReadOnlyList<T> Rows, string? ResumeAfter, bool More) Page<T>(List<T> matches, int limit, string? end, Func<T, string> id) =>
        matches.Count > limit
            ? (matches.GetRange(0, limit), id(matches[limit - 1]), true)
            : (matches, end, end is not null);

    private const string FilterConditions = """
              and (@hostname is null or lower(hostname) = lower(@hostname))
              and (@agentId is null or agent_id = @agentId)
              and (@ruleId is null or rule_id = @ruleId)
              and (@pathPrefix is null or substr(path, 1, length(@pathPrefix)) = @pathPrefix)
              and (@action is null or action = @action)
              and (@effect is null or effect = @effect)
              and (@severity is null or severity = @severity)
              and (@since is null or last_seen >= @since)
              and (@until is null or last_seen < @until)
        """;

    private static object Parameters(FimAlertFilter filter, string afterId, string? end, int chunk) => new
    {
        afterId,
        end,
        hostname = filter.Hostname,
        agentId = filter.AgentId,
        ruleId = filter.RuleId,
        pathPrefix = filter.PathPrefix,
        action = filter.Action,
        effect = filter.Effect,
        severity = filter.Severity,
        since = filter.Since,
        until = filter.Until,
        chunk,
    };

    /// <summary>An agent's alerts last seen in a window, in storage order after <paramref name="afterId"/>, through the agent's index.</summary>
    public async Task<IReadOnlyList<FimAlertRow>> OfAgentAsync(string agentId, DateTimeOffset since, DateTimeOffset until, string? afterId, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FimAlertRow>(new CommandDefinition(
            $"select {ReadColumns} from fim_alert where agent_id = @agentId and alert_id > @afterId and last_seen >= @since and last_seen < @until order by alert_id limit @take",
            new { agentId, afterId = afterId ?? "", since, until, take }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>
    /// What identifies the state of an agent's alerts last seen in a window, in one aggregate over the agent's index:
    /// an alert changes only by folding (its count grows), acknowledgement (one more acknowledged, at a newer time) or
    /// reopening (its count grows), and new alerts add to the count and the newest id.
    /// </summary>
    public async Task<FimAlertWindow> WindowAsync(string agentId, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleAsync<FimAlertWindow>(new CommandDefinition("""
            select count(*) as alerts, cast(coalesce(sum(count), 0) as bigint) as sightings, coalesce(max(alert_id), '') as last_id,
                   coalesce(cast(max(last_seen) as text), '') as last_seen, count(acknowledged_at) as acknowledged,
                   coalesce(cast(max(acknowledged_at) as text), '') as last_acknowledged
            from fim_alert where agent_id = @agentId and last_seen >= @since and last_seen < @until
            """,
            new { agentId, since, until }, cancellationToken: cancellationToken));
    }

    public async Task<FimAlertRow?> FindAsync(string alertId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<FimAlertRow>(new CommandDefinition(
            $"select {ReadColumns} from fim_alert where alert_id = @alertId", new { alertId }, cancellationToken: cancellationToken));
    }

    /// <summary>Marks the alert acknowledged unless it already is; true when this call did.</summary>
    public static async Task<bool> AcknowledgeAsync(Database.Write write, string alertId, DateTimeOffset now, string tokenId, CancellationToken cancellationToken) =>
        await write.Db.ExecuteAsync(new CommandDefinition(
            "update fim_alert set acknowledged_at = @now, acknowledged_by = @tokenId where alert_id = @alertId and acknowledged_at is null",
            new { alertId, now, tokenId }, write.Transaction, cancellationToken: cancellationToken)) == 1;

    /// <summary>Unacknowledged alerts of an agent, oldest first.</summary>
    public async Task<IReadOnlyList<FimAlertRow>> OpenAlertsAsync(string agentId, int take, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<FimAlertRow>(new CommandDefinition(
            $"select {ReadColumns} from fim_alert where agent_id = @agentId and acknowledged_at is null order by alert_id limit @take",
            new { agentId, take }, cancellationToken: cancellationToken))).AsList();
    }

    private const int ReceiptRows = 100;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, string> ReceiptSqls = new();

    private static string ReceiptSql(int rows) => ReceiptSqls.GetOrAdd(rows, n =>
        "insert into fim_alert_receipt (agent_id, client_id) values "
        + string.Join(", ", Enumerable.Range(0, n).Select(i => $"(@agent_id, @c{i})"))
        + " on conflict do nothing returning client_id");

    /// <summary>
    /// Runs the ingest statements, each prepared once and run for many rows, with values bound by position
    /// (the order of their names' first appearance in the SQL): raw statements on SQLite, where binding by
    /// name is the cost (<see cref="SqliteStatement"/>), and ADO.NET commands on PostgreSQL.
    /// </summary>
    private sealed class RowWriter(DbConnection db, DbTransaction transaction) : IAsyncDisposable
    {
        private readonly Dictionary<string, SqliteStatement> _sqlite = [];
        private readonly Dictionary<string, DbCommand> _postgres = [];

        /// <summary>Runs <paramref name="sql"/> with <paramref name="values"/>; the first column of each row it returns (if not null) goes to <paramref name="results"/>.</summary>
        public async Task RunAsync(string sql, object[] values, HashSet<string> results, CancellationToken cancellationToken)
        {
            if (db is SqliteConnection sqlite)
            {
                if (!_sqlite.TryGetValue(sql, out var statement))
                    _sqlite[sql] = statement = new SqliteStatement(sqlite, sql);
                for (var i = 0; i < values.Length; i++)
                {
                    switch (values[i])
                    {
                        case string text:
                            statement.Bind(i + 1, text);
                            break;
                        case DateTimeOffset time:
                            statement.Bind(i + 1, time);
                            break;
                        default:
                            statement.Bind(i + 1, Convert.ToInt64(values[i], System.Globalization.CultureInfo.InvariantCulture));
                            break;
                    }
                }

                while (statement.Step())
                    results.Add(statement.Text(0));
                statement.Reset();
                return;
            }

            if (!_postgres.TryGetValue(sql, out var command))
            {
                _postgres[sql] = command = db.CreateCommand();
                command.CommandText = sql;
                command.Transaction = transaction;
                foreach (var name in ParameterNames(sql))
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = name;
                    command.Parameters.Add(parameter);
                }
            }

            for (var i = 0; i < values.Length; i++)
                command.Parameters[i].Value = values[i];
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(0))
                    results.Add(reader.GetString(0));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var statement in _sqlite.Values)
                statement.Dispose();
            foreach (var command in _postgres.Values)
                await command.DisposeAsync();
        }

        private static IEnumerable<string> ParameterNames(string sql) =>
            System.Text.RegularExpressions.Regex.Matches(sql, "@[a-z_0-9]+").Select(m => m.Value).Distinct(StringComparer.Ordinal);
    }

    private sealed class Group(IncomingAlert first)
    {
        public IncomingAlert First { get; } = first;

        public long Count { get; private set; } = 1;

        public DateTimeOffset FirstSeen { get; private set; } = first.Time;

        public DateTimeOffset LastSeen { get; private set; } = first.Time;

        public void Add(DateTimeOffset time)
        {
            Count++;
            if (time < FirstSeen)
                FirstSeen = time;
            if (time > LastSeen)
                LastSeen = time;
        }
    }
}

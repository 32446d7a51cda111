using Microsoft.Data.Sqlite;

namespace Platform.Api.Fim;

/// <summary>Ingest, the hot path (see the class summary): receipts, upserts on statements prepared once for the batch.</summary>
public sealed partial class FimAlertStore
{
    /// <summary>Stores a batch's alerts in <paramref name="write"/> (the caller commits it, with what goes with them).</summary>
    public async Task<IngestResult> IngestAsync(Database.Write write, string agentId, string hostname, IReadOnlyList<IncomingAlert> alerts, CancellationToken cancellationToken)
    {
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

using System.Data.Common;
using Dapper;
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
    string? Hostname, string? AgentId, string? RuleId, string? PathPrefix, System.Text.RegularExpressions.Regex? PathGlob,
    string? Action, string? Effect, string? Severity, DateTimeOffset? Since, DateTimeOffset? Until);

public sealed record IngestResult(int Stored, int Folded, int Duplicates);

/// <summary>
/// FIM alert storage. Ingest is the hot path: one transaction per batch in the SQLite writer's turn, a receipt
/// per alert id (inserted 100 a statement) to recognise retries, and one upsert per distinct alert, on a command
/// reused for every row, which folds it into the identical alert of its fold window (the window is part of the
/// fold key).
/// </summary>
public sealed class FimAlertStore(Database database)
{
    private const string Columns = "alert_id, agent_id, hostname, path, action, effect, rule_id, rule_version, rule_name, severity, details_json, description, count, first_seen, last_seen";
    private const string ReadColumns = Columns + ", acknowledged_at, acknowledged_by";

    public async Task<IngestResult> IngestAsync(string agentId, string hostname, IReadOnlyList<IncomingAlert> alerts, CancellationToken cancellationToken)
    {
        var postgres = database.Provider == StorageProvider.Postgres;
        using var turn = await database.WriterTurnAsync(cancellationToken);
        await using var db = await database.OpenAsync(cancellationToken);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken);

        // A receipt that already exists is a retry: acknowledged, not counted again. Receipts go in 100 a
        // statement; the statement returns the ids it inserted, the others were already there.
        var ordered = alerts.OrderBy(a => a.Time).ToList();
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in ordered.Select(a => a.ClientId).Distinct(StringComparer.Ordinal).Chunk(ReceiptRows))
        {
            await using var receipt = Command(db, transaction, ReceiptSql(chunk.Length), ["agent_id", .. Enumerable.Range(0, chunk.Length).Select(i => "c" + i.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
            Set(receipt, [agentId, .. chunk]);
            await using var reader = await receipt.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                inserted.Add(reader.GetString(0));
        }

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
                groups[alert.FoldKey] = new Group(Ids.New("fal"), alert);
        }

        // One upsert per distinct alert: it either starts an alert or folds into the one of its window
        // (which reopens it if it had been acknowledged: there is new activity to look at).
        var (least, greatest) = postgres ? ("least", "greatest") : ("min", "max");
        await using var upsert = Command(db, transaction,
            $"""
            insert into fim_alert ({Columns}, fold_key)
            values (@alert_id, @agent_id, @hostname, @path, @action, @effect, @rule_id, @rule_version, @rule_name, @severity, @details_json, @description, @count, @first_seen, @last_seen, @fold_key)
            on conflict (fold_key) do update set
                count = fim_alert.count + excluded.count,
                first_seen = {least}(fim_alert.first_seen, excluded.first_seen),
                last_seen = {greatest}(fim_alert.last_seen, excluded.last_seen),
                acknowledged_at = null,
                acknowledged_by = null
            {(postgres ? "returning alert_id" : "")}
            """,
            "alert_id", "agent_id", "hostname", "path", "action", "effect", "rule_id", "rule_version", "rule_name", "severity", "details_json", "description", "count", "first_seen", "last_seen", "fold_key");
        var stored = 0;
        foreach (var group in groups.Values)
        {
            var a = group.First;
            Set(upsert, group.AlertId, agentId, hostname, a.Path, a.Action, a.Effect, a.RuleId, a.RuleVersion, a.RuleName, a.Severity, a.DetailsJson, a.Description,
                group.Count, SqlMapping.Timestamp(group.FirstSeen), SqlMapping.Timestamp(group.LastSeen), a.FoldKey);
            if (postgres)
            {
                if ((string?)await upsert.ExecuteScalarAsync(cancellationToken) == group.AlertId)
                    stored++;
            }
            else
            {
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (!postgres && groups.Count > 0)
        {
            // The ids proposed in this batch are increasing and nothing else writes alerts during our turn:
            // the rows in their range are the alerts this batch started.
            var ids = groups.Values.Select(g => g.AlertId).ToList();
            stored = await db.ExecuteScalarAsync<int>(new CommandDefinition(
                "select count(*) from fim_alert where alert_id between @first and @last", new { first = ids.Min(StringComparer.Ordinal), last = ids.Max(StringComparer.Ordinal) }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return new IngestResult(stored, fresh - stored, alerts.Count - fresh);
    }

    /// <summary>Alerts in storage order after <paramref name="afterId"/>; filters that SQL cannot do (glob) are applied here.</summary>
    public async Task<IReadOnlyList<FimAlertRow>> QueryAsync(FimAlertFilter filter, string? afterId, int take, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {ReadColumns} from fim_alert
            where (@afterId is null or alert_id > @afterId)
              and (@hostname is null or lower(hostname) = lower(@hostname))
              and (@agentId is null or agent_id = @agentId)
              and (@ruleId is null or rule_id = @ruleId)
              and (@pathPrefix is null or substr(path, 1, length(@pathPrefix)) = @pathPrefix)
              and (@action is null or action = @action)
              and (@effect is null or effect = @effect)
              and (@severity is null or severity = @severity)
              and (@since is null or last_seen >= @since)
              and (@until is null or last_seen < @until)
            order by alert_id
            limit @chunk
            """;
        await using var db = await database.OpenAsync(cancellationToken);
        var result = new List<FimAlertRow>();
        var chunk = filter.PathGlob is null ? take : Math.Max(take * 4, 500);
        while (result.Count < take)
        {
            var rows = (await db.QueryAsync<FimAlertRow>(new CommandDefinition(sql, new
            {
                afterId,
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
            }, cancellationToken: cancellationToken))).AsList();
            result.AddRange(filter.PathGlob is null ? rows : rows.Where(r => filter.PathGlob.IsMatch(r.Path)));
            if (rows.Count < chunk)
                break;
            afterId = rows[^1].AlertId;
        }

        return result.Count > take ? result.GetRange(0, take) : result;
    }

    public async Task<FimAlertRow?> FindAsync(string alertId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<FimAlertRow>(new CommandDefinition(
            $"select {ReadColumns} from fim_alert where alert_id = @alertId", new { alertId }, cancellationToken: cancellationToken));
    }

    /// <summary>Marks the alert acknowledged unless it already is; true when this call did.</summary>
    public static async Task<bool> AcknowledgeAsync(DbConnection db, DbTransaction transaction, string alertId, DateTimeOffset now, string tokenId, CancellationToken cancellationToken) =>
        await db.ExecuteAsync(new CommandDefinition(
            "update fim_alert set acknowledged_at = @now, acknowledged_by = @tokenId where alert_id = @alertId and acknowledged_at is null",
            new { alertId, now, tokenId }, transaction, cancellationToken: cancellationToken)) == 1;

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

    private static DbCommand Command(DbConnection db, DbTransaction transaction, string sql, params string[] parameters)
    {
        var command = db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            var parameter = command.CreateParameter();
            // With its prefix, so the provider binds it without trying each prefix in turn.
            parameter.ParameterName = "@" + name;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void Set(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i];
    }

    private sealed class Group(string alertId, IncomingAlert first)
    {
        public string AlertId { get; } = alertId;

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

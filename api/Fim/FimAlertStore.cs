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
}

public sealed record FimAlertFilter(
    string? Hostname, string? AgentId, string? RuleId, string? PathPrefix, System.Text.RegularExpressions.Regex? PathGlob,
    string? Action, string? Effect, string? Severity, DateTimeOffset? Since, DateTimeOffset? Until);

public sealed record IngestResult(int Stored, int Folded, int Duplicates);

/// <summary>
/// FIM alert storage. Ingest is the hot path: one transaction per batch, prepared commands reused for
/// every row, receipts to recognise retries, and folding of identical alerts within the fold window.
/// </summary>
public sealed class FimAlertStore(Database database)
{
    private const string Columns = "alert_id, agent_id, hostname, path, action, effect, rule_id, rule_version, rule_name, severity, details_json, description, count, first_seen, last_seen";

    public async Task<IngestResult> IngestAsync(string agentId, string hostname, IReadOnlyList<IncomingAlert> alerts, TimeSpan foldWindow, CancellationToken cancellationToken)
    {
        var provider = database.Provider;
        await using var db = await database.OpenAsync(cancellationToken);
        await using var transaction = await db.BeginTransactionAsync(cancellationToken);
        if (provider == StorageProvider.Postgres)
        {
            // One batch of an agent at a time, so a retry racing its original cannot count twice.
            await db.ExecuteAsync(new CommandDefinition("select pg_advisory_xact_lock(hashtext(@agentId))", new { agentId }, transaction, cancellationToken: cancellationToken));
        }

        // Dapper expands a list for SQLite; Npgsql takes the array as one parameter.
        var seen = (await db.QueryAsync<string>(new CommandDefinition(
            "select client_id from fim_alert_receipt where agent_id = @agentId and client_id "
                + (provider == StorageProvider.Postgres ? "= any(@ids)" : "in @ids"),
            new { agentId, ids = alerts.Select(a => a.ClientId).Distinct().ToArray() }, transaction, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);

        var groups = new List<Group>();
        var openGroups = new Dictionary<string, Group>(StringComparer.Ordinal);
        var receipts = new List<(string ClientId, string AlertId)>();
        int stored = 0, folded = 0, duplicates = 0;
        await using var findGroup = Command(db, transaction,
            "select alert_id, count, first_seen, last_seen from fim_alert where fold_key = @fold_key and first_seen > @window_start order by first_seen desc limit 1",
            "fold_key", "window_start");

        foreach (var alert in alerts.OrderBy(a => a.Time))
        {
            if (!seen.Add(alert.ClientId))
            {
                duplicates++;
                continue;
            }

            // The open group for this key: one started in this batch, else the newest stored one.
            if (!openGroups.TryGetValue(alert.FoldKey, out var group))
            {
                group = await StoredGroupAsync(findGroup, alert, foldWindow, provider, cancellationToken);
            }

            if (group is not null && (alert.Time - group.FirstSeen).Duration() < foldWindow)
            {
                if (!group.IsNew && !groups.Contains(group))
                    groups.Add(group);
                folded++;
            }
            else
            {
                group = new Group(Ids.New("fal"), alert, isNew: true) { FirstSeen = alert.Time, LastSeen = alert.Time };
                groups.Add(group);
                stored++;
            }

            openGroups[alert.FoldKey] = group;
            group.Count++;
            if (alert.Time < group.FirstSeen)
                group.FirstSeen = alert.Time;
            if (alert.Time > group.LastSeen)
                group.LastSeen = alert.Time;
            receipts.Add((alert.ClientId, group.AlertId));
        }

        await WriteAsync(db, transaction, agentId, hostname, groups, receipts, provider, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new IngestResult(stored, folded, duplicates);
    }

    /// <summary>Alerts in storage order after <paramref name="afterId"/>; filters that SQL cannot do (glob) are applied here.</summary>
    public async Task<IReadOnlyList<FimAlertRow>> QueryAsync(FimAlertFilter filter, string? afterId, int take, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from fim_alert
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

    private static async Task<Group?> StoredGroupAsync(DbCommand findGroup, IncomingAlert alert, TimeSpan foldWindow, StorageProvider provider, CancellationToken cancellationToken)
    {
        findGroup.Parameters["fold_key"].Value = alert.FoldKey;
        findGroup.Parameters["window_start"].Value = SqlMapping.Timestamp(alert.Time - foldWindow);
        await using var reader = await findGroup.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
            return null;
        var firstSeen = reader.GetFieldValue<DateTimeOffset>(2);
        return new Group(reader.GetString(0), alert, isNew: false)
        {
            Count = reader.GetInt64(1),
            FirstSeen = firstSeen,
            LastSeen = reader.GetFieldValue<DateTimeOffset>(3),
        };
    }

    private static async Task WriteAsync(DbConnection db, DbTransaction transaction, string agentId, string hostname, IEnumerable<Group> groups, List<(string ClientId, string AlertId)> receipts, StorageProvider provider, CancellationToken cancellationToken)
    {
        await using var insert = Command(db, transaction,
            $"insert into fim_alert ({Columns}, fold_key) values (@alert_id, @agent_id, @hostname, @path, @action, @effect, @rule_id, @rule_version, @rule_name, @severity, @details_json, @description, @count, @first_seen, @last_seen, @fold_key)",
            "alert_id", "agent_id", "hostname", "path", "action", "effect", "rule_id", "rule_version", "rule_name", "severity", "details_json", "description", "count", "first_seen", "last_seen", "fold_key");
        await using var update = Command(db, transaction,
            "update fim_alert set count = @count, first_seen = @first_seen, last_seen = @last_seen where alert_id = @alert_id",
            "count", "first_seen", "last_seen", "alert_id");
        foreach (var group in groups)
        {
            if (group.IsNew)
            {
                var a = group.First;
                Set(insert, group.AlertId, agentId, hostname, a.Path, a.Action, a.Effect, a.RuleId, a.RuleVersion, a.RuleName, a.Severity, a.DetailsJson, a.Description,
                    group.Count, SqlMapping.Timestamp(group.FirstSeen), SqlMapping.Timestamp(group.LastSeen), a.FoldKey);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            else
            {
                Set(update, group.Count, SqlMapping.Timestamp(group.FirstSeen), SqlMapping.Timestamp(group.LastSeen), group.AlertId);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await using var receipt = Command(db, transaction,
            "insert into fim_alert_receipt (agent_id, client_id, alert_id) values (@agent_id, @client_id, @alert_id)",
            "agent_id", "client_id", "alert_id");
        foreach (var (clientId, alertId) in receipts)
        {
            Set(receipt, agentId, clientId, alertId);
            await receipt.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static DbCommand Command(DbConnection db, DbTransaction transaction, string sql, params string[] parameters)
    {
        var command = db.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private static void Set(DbCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i];
    }

    private sealed class Group(string alertId, IncomingAlert first, bool isNew)
    {
        public string AlertId { get; } = alertId;

        public IncomingAlert First { get; } = first;

        public bool IsNew { get; } = isNew;

        public long Count { get; set; }

        public DateTimeOffset FirstSeen { get; set; }

        public DateTimeOffset LastSeen { get; set; }
    }
}

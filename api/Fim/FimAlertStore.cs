namespace Platform.Api.Fim;

/// <summary>
/// FIM alert storage. Ingest is the hot path: one transaction per batch in the SQLite writer's turn, a receipt
/// per alert id (inserted 100 a statement) to recognise retries, and one upsert per distinct alert, on a statement
/// prepared once for the batch, which folds it into the identical alert of its fold window (the window is part of
/// the fold key, whose order keeps a burst's rows on neighbouring index pages).
/// </summary>
public sealed partial class FimAlertStore(Database database)
{
    private const string Columns = "alert_id, agent_id, hostname, path, action, effect, rule_id, rule_version, rule_name, severity, details_json, description, count, first_seen, last_seen";
    private const string ReadColumns = Columns + ", acknowledged_at, acknowledged_by";

    /// <summary>The stored alert each fold key went into, as <paramref name="write"/> sees them (its own alerts too).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> AlertIdsAsync(Database.Write write, IReadOnlyCollection<string> foldKeys, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        if (foldKeys.Count == 0)
            return ids;
        foreach (var chunk in foldKeys.Chunk(100))
        {
            // Named parameters, one a key: Dapper expands "in @list" on SQLite but hands PostgreSQL an array.
            var parameters = new DynamicParameters();
            for (var i = 0; i < chunk.Length; i++)
                parameters.Add($"k{i}", chunk[i]);
            var rows = await write.Db.QueryAsync<(string FoldKey, string AlertId)>(new CommandDefinition(
                $"select fold_key, alert_id from fim_alert where fold_key in ({string.Join(", ", chunk.Select((_, i) => $"@k{i}"))})", parameters, write.Transaction, cancellationToken: cancellationToken));
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
}

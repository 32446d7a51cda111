using System.Text.RegularExpressions;
using Dapper;
using Platform.Api.Storage;

namespace Platform.Tests.Infrastructure;

/// <summary>How a store's query is run on either provider: SQLite's EXPLAIN QUERY PLAN or PostgreSQL's EXPLAIN, as lines.</summary>
public static partial class QueryPlans
{
    public static async Task<IReadOnlyList<string>> ExplainAsync(Database database, string sql, object parameters)
    {
        await using var db = await database.OpenAsync(CancellationToken.None);
        if (database.Provider == StorageProvider.Postgres)
            return (await db.QueryAsync<string>("explain " + sql, parameters)).ToList();
        var rows = await db.QueryAsync("explain query plan " + sql, parameters);
        return rows.Select(row => (string)((IDictionary<string, object>)row)["detail"]).ToList();
    }

    /// <summary>
    /// On PostgreSQL, what its autovacuum does on a live database (statistics, and the visibility map that lets an index be
    /// read without the table); SQLite is left without statistics, as the API runs it (its plans are a fresh API's).
    /// </summary>
    public static async Task VacuumAsync(Database database, string table)
    {
        if (database.Provider != StorageProvider.Postgres)
            return;
        await using var db = await database.OpenAsync(CancellationToken.None);
        await db.ExecuteAsync("vacuum analyze " + table);
    }

    /// <summary>Whether the plan sorts rows itself (rather than reading them in an index's order) or reads the whole table.</summary>
    public static bool SortsOrScans(IReadOnlyList<string> plan) => plan.Any(line => SortOrScan().IsMatch(line));

    [GeneratedRegex(@"TEMP B-TREE FOR ORDER BY|^SCAN \w+$|^\s*(->\s+)?(Incremental )?Sort\b|Seq Scan")]
    private static partial Regex SortOrScan();
}

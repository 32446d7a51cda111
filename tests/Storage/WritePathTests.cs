using System.Data.Common;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Storage;

/// <summary>
/// Every write takes the one write path (Database.BeginWriteAsync: the writer's turn, then a transaction). On SQLite the
/// connections Database.OpenAsync gives are query-only, so every test on SQLite fails where a write bypasses the path.
/// </summary>
public sealed class WritePathTestsOnSqlite(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task A_write_on_a_reading_connection_is_refused()
    {
        await api.Admin().CreateTokenAsync(new TokenCreate { Name = "write-path", Role = Role.Analyst });
        var database = api.Services.GetRequiredService<Database>();

        await using (var db = await database.OpenAsync(CancellationToken.None))
        {
            await Assert.ThrowsAnyAsync<DbException>(() => db.ExecuteAsync("update api_token set name = 'bypassed' where name = 'write-path'"));
            Assert.Equal(1, await db.ExecuteScalarAsync<int>("select count(*) from api_token where name = 'write-path'"));
        }

        await using var write = await database.BeginWriteAsync(CancellationToken.None);
        Assert.Equal(1, await write.Db.ExecuteAsync("update api_token set name = 'written' where name = 'write-path'", transaction: write.Transaction));
    }
}

public sealed class WritePathSourceTests
{
    /// <summary>The same on PostgreSQL, where there is no query-only guard: nothing but Storage opens a transaction or a connection of its own.</summary>
    [Fact]
    public void No_code_outside_the_storage_folder_opens_a_transaction_or_a_connection_of_its_own()
    {
        var api = Path.Combine(Repository.Root, "api");
        var storage = Path.Combine(api, "Storage") + Path.DirectorySeparatorChar;
        var bypasses = Directory.EnumerateFiles(api, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.StartsWith(storage, StringComparison.Ordinal) && !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(path => File.ReadLines(path).Select((line, i) => (Where: $"{Path.GetRelativePath(Repository.Root, path)}:{i + 1}", Line: line)))
            .Where(l => Regex.IsMatch(l.Line, @"\bBeginTransaction(Async)?\s*\(|new\s+(Sqlite|Npgsql)Connection\s*\("))
            .Select(l => $"{l.Where}: {l.Line.Trim()}")
            .ToList();
        Assert.True(bypasses.Count == 0, "Write through Database.BeginWriteAsync instead:\n" + string.Join('\n', bypasses));
    }

    /// <summary>
    /// A handler translates HTTP to a call of its feature's writer (a named service: TokenWriter, FimAlertWriter,
    /// IncidentWorkflow…) and its result back; what a write does and what goes with it is the service's, not the endpoint's.
    /// </summary>
    [Fact]
    public void No_endpoint_begins_a_write()
    {
        var api = Path.Combine(Repository.Root, "api");
        // Every file that holds handlers: named for them, or declaring a class named so.
        var writes = Directory.EnumerateFiles(api, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(path => path.EndsWith("Endpoints.cs", StringComparison.Ordinal) || Regex.IsMatch(File.ReadAllText(path), @"\bclass\s+\w+Endpoints\b"))
            .SelectMany(path => File.ReadLines(path).Select((line, i) => (Where: $"{Path.GetRelativePath(Repository.Root, path)}:{i + 1}", Line: line)))
            .Where(l => Regex.IsMatch(l.Line, @"\b(BeginWriteAsync|BeginGroupWriteAsync|BeginChangesAsync|JoinChangesAsync)\s*\("))
            .Select(l => $"{l.Where}: {l.Line.Trim()}")
            .ToList();
        Assert.True(writes.Count == 0, "Begin the write in the feature's writer service, not in its endpoints:\n" + string.Join('\n', writes));
    }

    /// <summary>
    /// The store methods that begin a write of their own, each with why (docs/storage.md): every other store method
    /// takes part in a write its caller (a writer or a service named for what it does) began.
    /// </summary>
    private static readonly Dictionary<string, string> StoreWrites = new()
    {
        ["IncidentStore.BeginChangesAsync"] = "the incident change write: the writer's turn with the incident change lock and change numbers (IncidentStore.Changes)",
        ["TelemetryStore.WriteGroupAsync"] = "ingest's group commit (Storage/GroupCommit.cs): one write for a group of queued batches",
    };

    /// <summary>
    /// A store (<c>*Store</c>) holds its aggregate's SQL; the write it takes part in is begun by its feature's writer
    /// (TokenWriter, WebhookWriter, ComplianceWriter…) or by a background service named for what it does
    /// (WebhookDispatcher, TelemetryRetention), which also decides what else goes in that write.
    /// </summary>
    [Fact]
    public void No_store_begins_a_write()
    {
        var api = Path.Combine(Repository.Root, "api");
        var begun = new List<(string Member, string Where)>();
        foreach (var path in Directory.EnumerateFiles(api, "*.cs", SearchOption.AllDirectories)
                     .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var store = Regex.Match(File.ReadAllText(path), @"\bclass\s+(\w+Store)\b");
            if (!store.Success)
                continue;
            var member = "";
            foreach (var (line, i) in File.ReadLines(path).Select((line, i) => (line, i)))
            {
                if (Regex.Match(line, @"^\s*(public|private|internal|protected)\b[^=;(]*?\b(\w+)\s*(<[^>]*>)?\s*\(") is { Success: true } declared)
                    member = declared.Groups[2].Value;
                if (Regex.IsMatch(line, @"\b(BeginWriteAsync|BeginGroupWriteAsync)\s*\("))
                    begun.Add(($"{store.Groups[1].Value}.{member}", $"{Path.GetRelativePath(Repository.Root, path)}:{i + 1}: {line.Trim()}"));
            }
        }

        var unexpected = begun.Where(b => !StoreWrites.ContainsKey(b.Member)).Select(b => $"{b.Member} ({b.Where})").ToList();
        Assert.True(unexpected.Count == 0, "Take the Database.Write as the first parameter and begin the write in the feature's writer service:\n" + string.Join('\n', unexpected));
        // The exceptions are still where they are said to be (a renamed one is named here again, not dropped silently).
        Assert.Equal(StoreWrites.Keys.Order(), begun.Select(b => b.Member).Distinct().Order());
    }
}

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
}

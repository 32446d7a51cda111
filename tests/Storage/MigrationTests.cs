using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Api.Storage;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Storage;

public abstract class MigrationTests(PlatformApi api)
{
    [SkippableFact]
    public async Task Migrating_an_up_to_date_database_changes_nothing()
    {
        api.Http(); // starts the api, which migrates
        var database = api.Services.GetRequiredService<Database>();
        var applied = await AppliedScripts(database);

        await new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        Assert.Equal(applied, await AppliedScripts(database));
        Assert.Contains(applied, name => name.Contains("0001_foundation", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Instances_starting_together_migrate_once()
    {
        api.Http();
        var database = api.Services.GetRequiredService<Database>();
        var applied = await AppliedScripts(database);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None))));

        Assert.Equal(applied, await AppliedScripts(database));
    }

    private static async Task<List<string>> AppliedScripts(Database database)
    {
        await using var db = await database.OpenAsync(CancellationToken.None);
        var table = database.Provider == StorageProvider.Postgres ? "schemaversions" : "SchemaVersions";
        return (await db.QueryAsync<string>($"select scriptname from {table} order by scriptname")).AsList();
    }
}

public sealed class MigrationTestsOnSqlite(SqliteApi api) : MigrationTests(api), IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Sqlite_database_is_a_file_in_the_data_directory_in_wal_mode()
    {
        var database = api.Services.GetRequiredService<Database>();
        await using var db = await database.OpenAsync(CancellationToken.None);

        Assert.Equal("wal", await db.ExecuteScalarAsync<string>("pragma journal_mode"));
        Assert.Equal(5000, await db.ExecuteScalarAsync<int>("pragma busy_timeout"));
        Assert.True(File.Exists(Path.Combine(api.DataDirectory, "platform.db")));
    }
}

public sealed class MigrationTestsOnPostgres(PostgresApi api) : MigrationTests(api), IClassFixture<PostgresApi>;

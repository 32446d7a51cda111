using System.Reflection;
using DbUp;
using DbUp.Engine;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Platform.Api.Storage;

/// <summary>
/// Applies the forward-only numbered scripts in Storage/Migrations/{Sqlite|Postgres} at start-up (DbUp).
/// On PostgreSQL an advisory lock makes instances starting together take turns.
/// </summary>
public sealed class Migrator(Database database, ILogger<Migrator> logger)
{
    // Any constant works; it only has to be the same for every instance of the platform.
    private const long MigrationLockKey = 0x706C6174666F726D;

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        if (database.Provider == StorageProvider.Postgres)
            await MigratePostgresAsync(cancellationToken);
        else
            await MigrateSqliteAsync(cancellationToken);
    }

    private async Task MigrateSqliteAsync(CancellationToken cancellationToken)
    {
        await using (var connection = new SqliteConnection(database.ConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var wal = connection.CreateCommand();
            wal.CommandText = "pragma journal_mode = WAL;";
            await wal.ExecuteNonQueryAsync(cancellationToken);
        }

        Run(DeployChanges.To.SqliteDatabase(database.ConnectionString), "Sqlite");
    }

    private async Task MigratePostgresAsync(CancellationToken cancellationToken)
    {
        await using var lockConnection = new NpgsqlConnection(database.ConnectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (var takeLock = new NpgsqlCommand($"select pg_advisory_lock({MigrationLockKey})", lockConnection))
            await takeLock.ExecuteNonQueryAsync(cancellationToken);
        try
        {
            Run(DeployChanges.To.PostgresqlDatabase(database.ConnectionString), "Postgres");
        }
        finally
        {
            await using var releaseLock = new NpgsqlCommand($"select pg_advisory_unlock({MigrationLockKey})", lockConnection);
            await releaseLock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private void Run(DbUp.Builder.UpgradeEngineBuilder builder, string folder)
    {
        var prefix = $"{typeof(Migrator).Namespace}.Migrations.{folder}.";
        var engine = builder
            .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly(), name => name.StartsWith(prefix, StringComparison.Ordinal))
            .WithTransactionPerScript()
            .LogTo(new DbUpLog(logger))
            .Build();

        var result = engine.PerformUpgrade();
        if (!result.Successful)
            throw new InvalidOperationException($"Migration {result.ErrorScript?.Name} failed: {result.Error.Message}", result.Error);
    }

    private sealed class DbUpLog(ILogger logger) : DbUp.Engine.Output.IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger.LogTrace(format, args);

        public void LogDebug(string format, params object[] args) => logger.LogDebug(format, args);

        public void LogInformation(string format, params object[] args) => logger.LogInformation(format, args);

        public void LogWarning(string format, params object[] args) => logger.LogWarning(format, args);

        public void LogError(string format, params object[] args) => logger.LogError(format, args);

        public void LogError(Exception ex, string format, params object[] args) => logger.LogError(ex, format, args);
    }
}

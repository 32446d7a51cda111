using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Platform.Api.Storage;

/// <summary>
/// Copies SQLite's write-ahead log into the database in the background (a PASSIVE checkpoint, which never
/// blocks writers) once a second, so that writers do not stop to do it themselves: ingest holds the one
/// writer slot, and a checkpoint inside a commit would stall every agent behind it. The writers' own
/// automatic checkpoint stays on, far out, as a safety net.
/// </summary>
public sealed class SqliteCheckpointer(Database database, IOptions<StorageOptions> options, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (database.Provider != StorageProvider.Sqlite)
            return;
        // WAL upkeep is paced by the machine's clock, not the API's (tests move that one on by days at a time).
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.SqliteCheckpointIntervalMs), TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await using var db = await database.OpenAsync(stoppingToken);
                    await using var checkpoint = db.CreateCommand();
                    checkpoint.CommandText = "pragma wal_checkpoint(PASSIVE)";
                    await checkpoint.ExecuteNonQueryAsync(stoppingToken);
                }
                catch (SqliteException ex)
                {
                    logger.LogWarning(ex, "Background WAL checkpoint failed; writers still checkpoint on their own");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

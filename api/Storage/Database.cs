using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Platform.Api.Storage;

/// <summary>Opens connections to the configured store. Everything provider-specific about a connection lives here.</summary>
public sealed class Database : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _postgres;
    private readonly int _busyTimeoutMs;

    public Database(IOptions<StorageOptions> options, DataDirectory dataDirectory)
    {
        var storage = options.Value;
        Provider = storage.Provider;
        _busyTimeoutMs = storage.SqliteBusyTimeoutMs;
        if (Provider == StorageProvider.Postgres)
        {
            if (string.IsNullOrWhiteSpace(storage.ConnectionString))
                throw new InvalidOperationException($"{StorageOptions.Section}:ConnectionString is required when the provider is Postgres.");
            ConnectionString = storage.ConnectionString;
            _postgres = NpgsqlDataSource.Create(WithDefaults(ConnectionString));
        }
        else
        {
            var builder = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(dataDirectory.Path, "platform.db"),
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = Math.Max(1, _busyTimeoutMs / 1000),
            };
            ConnectionString = builder.ToString();
            // The hot writers' connections in a pool of their own (a pool is per connection string; foreign keys
            // are on for every connection anyway): taken by a reader, a writer's connection had its page cache
            // cut to a reader's size and the next writer started cold. Detection reads between ingest's writes.
            builder.ForeignKeys = true;
            _writerConnectionString = builder.ToString();
        }
    }

    private readonly string? _writerConnectionString;

    public StorageProvider Provider { get; }

    /// <summary>
    /// Npgsql's defaults send DISCARD ALL whenever a pooled connection is reused and parse every statement
    /// every time: on ingest (two lookups a request, a group commit a few batches) that was most of what
    /// PostgreSQL did. The platform leaves no session state behind (the migrator's advisory lock is released
    /// on its own connection), so connections are reused as they are and frequent statements are prepared.
    /// A connection string that sets either keeps its own value.
    /// </summary>
    private static string WithDefaults(string connectionString)
    {
        // Npgsql's own builder knows every keyword whether given or not: ask the plain one what was given.
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
            builder.NoResetOnClose = true;
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
            builder.MaxAutoPrepare = 64;
        return builder.ConnectionString;
    }

    public string ConnectionString { get; }

    private readonly WriterGate _sqliteWriter = new(TimeProvider.System);

    public ValueTask DisposeAsync() => _postgres?.DisposeAsync() ?? ValueTask.CompletedTask;

    /// <summary>
    /// "Is one of the list <paramref name="parameter"/>", in the provider's SQL. Dapper sends a list to PostgreSQL as
    /// one array parameter and expands it on SQLite; either way the statement's text does not change with the values
    /// (Dapper caches, and emits code for, each distinct text: text made of the values grew its cache on every call).
    /// </summary>
    public string IsIn(string parameter) => _postgres is not null ? $"= any(@{parameter})" : $"in @{parameter}";

    /// <summary>
    /// SQLite has one writer at a time, and a writer that finds the database busy sleeps and retries. Write paths
    /// take turns here instead, without sleeping; <paramref name="background"/> work lets requests go first
    /// (<see cref="WriterGate"/>). PostgreSQL needs no gate.
    /// </summary>
    public async Task<IDisposable?> WriterTurnAsync(CancellationToken cancellationToken, bool background = false)
    {
        if (_postgres is not null)
            return null;
        return await _sqliteWriter.EnterAsync(background, cancellationToken);
    }

    /// <summary>
    /// Page cache of a SQLite connection, in KiB. Each pooled connection keeps its own, so readers (any number
    /// at once; a bundle reads its segments once, in order, and the operating system caches the file anyway)
    /// keep SQLite's default of 2 MiB; the hot writers (one at a time, see <see cref="WriterTurnAsync"/>) get
    /// 64 MiB, so that ingest and its indexes stay in memory.
    /// </summary>
    private const int ReaderCacheKib = 2 * 1024, WriterCacheKib = 64 * 1024;

    public Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(ConnectionString, ReaderCacheKib, cancellationToken);

    /// <summary>A write transaction in the writer's turn (<see cref="WriterTurnAsync"/>) on a writer's connection: dispose it to give all three back.</summary>
    public async Task<Write> BeginWriteAsync(CancellationToken cancellationToken, bool background = false)
    {
        var turn = await WriterTurnAsync(cancellationToken, background);
        DbConnection? db = null;
        try
        {
            db = await OpenForWritingAsync(cancellationToken);
            return new Write(db, await db.BeginTransactionAsync(cancellationToken), turn);
        }
        catch
        {
            if (db is not null)
                await db.DisposeAsync();
            turn?.Dispose();
            throw;
        }
    }

    public sealed class Write(DbConnection db, DbTransaction transaction, IDisposable? turn) : IAsyncDisposable
    {
        public DbConnection Db { get; } = db;

        public DbTransaction Transaction { get; } = transaction;

        public Task CommitAsync(CancellationToken cancellationToken) => Transaction.CommitAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Db.DisposeAsync();
            turn?.Dispose();
        }
    }

    /// <summary>A connection for a hot write path, taken in its <see cref="WriterTurnAsync"/>.</summary>
    public Task<DbConnection> OpenForWritingAsync(CancellationToken cancellationToken) => OpenAsync(_writerConnectionString ?? ConnectionString, WriterCacheKib, cancellationToken);

    private async Task<DbConnection> OpenAsync(string connectionString, int cacheKib, CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);

        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // Per-connection settings (a pooled connection keeps the last ones: set them all every time); WAL itself
        // is persistent and set by the first migration. The WAL is checkpointed in the background
        // (SqliteCheckpointer); writers do it themselves only past 256 MiB.
        await using var pragmas = connection.CreateCommand();
        pragmas.CommandText = $"pragma busy_timeout = {_busyTimeoutMs}; pragma synchronous = NORMAL; pragma foreign_keys = ON; pragma cache_size = -{cacheKib}; pragma wal_autocheckpoint = 65536;";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

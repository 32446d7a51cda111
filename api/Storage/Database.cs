using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Platform.Api.Storage;

/// <summary>Opens connections to the configured store. Everything provider-specific about a connection lives here.</summary>
/// <remarks>
/// One store shape and one write path. A store (<c>*Store</c>: a feature's SQL, one class per aggregate) has two kinds
/// of method: a read on its own opens its connection here (<see cref="OpenAsync"/>); everything that takes part in a
/// write takes the <see cref="Write"/> it is part of as its first parameter. A <see cref="Write"/> comes only from
/// <see cref="BeginWriteAsync"/> (or <see cref="BeginGroupWriteAsync"/> for ingest's group commit): the writer's turn on
/// SQLite, a writer's connection and its transaction (incidents take <c>IncidentStore.Changes</c>, a write that also holds
/// their change lock and numbers). Orchestration of several stores in one write (audit entries,
/// the webhook outbox, data pins) is a named service's job, never a store's.
/// On SQLite every connection <see cref="OpenAsync"/> gives is query-only, so a write that bypasses the path fails
/// (in every test on SQLite) instead of racing the writer. More in docs/storage.md.
/// </remarks>
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
            _readerConnectionString = builder.ToString();
            // The hot writers' connections in a pool of their own (a pool is per connection string; foreign keys
            // are on for every connection anyway): taken by a reader, a writer's connection had its page cache
            // cut to a reader's size and the next writer started cold. Detection reads between ingest's writes.
            // Readers' connections are query-only: a pool of their own keeps them apart from the writers' (and the migrator's).
            builder.ForeignKeys = true;
            ConnectionString = builder.ToString();
        }
    }

    /// <summary>SQLite: the readers' pool (query-only connections, <see cref="OpenAsync"/>); PostgreSQL: null.</summary>
    private readonly string? _readerConnectionString;

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

    /// <summary>What writers (and the migrator) connect with.</summary>
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
    private async Task<IDisposable?> WriterTurnAsync(CancellationToken cancellationToken, bool background = false)
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

    /// <summary>A connection to read with (SQLite: query-only; writes take <see cref="BeginWriteAsync"/>).</summary>
    public Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => OpenAsync(_readerConnectionString ?? ConnectionString, ReaderCacheKib, writer: false, cancellationToken);

    /// <summary>One row or none, on a read connection of its own (<see cref="Write.QuerySingleOrDefaultAsync"/> reads inside a write).</summary>
    public async Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        return await db.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }

    /// <summary>Every row, on a read connection of its own.</summary>
    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters, CancellationToken cancellationToken)
    {
        await using var db = await OpenAsync(cancellationToken);
        return (await db.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>A write transaction in the writer's turn (<see cref="WriterTurnAsync"/>) on a writer's connection: dispose it to give all three back.</summary>
    public Task<Write> BeginWriteAsync(CancellationToken cancellationToken, bool background = false) => BeginAsync(transaction: true, background, cancellationToken);

    /// <summary>
    /// Ingest's group commit: on SQLite as <see cref="BeginWriteAsync"/>; on PostgreSQL a writer's connection with no
    /// transaction of its own (<see cref="Write.Transaction"/> throws): the group goes as one batch of statements,
    /// which PostgreSQL runs as one implicit transaction, committed with its reply and no round trip more.
    /// </summary>
    public Task<Write> BeginGroupWriteAsync(CancellationToken cancellationToken) => BeginAsync(transaction: _postgres is null, background: false, cancellationToken);

    private async Task<Write> BeginAsync(bool transaction, bool background, CancellationToken cancellationToken)
    {
        var turn = await WriterTurnAsync(cancellationToken, background);
        DbConnection? db = null;
        try
        {
            db = await OpenAsync(ConnectionString, WriterCacheKib, writer: true, cancellationToken);
            return new Write(db, transaction ? await db.BeginTransactionAsync(cancellationToken) : null, turn);
        }
        catch
        {
            if (db is not null)
                await db.DisposeAsync();
            turn?.Dispose();
            throw;
        }
    }

    /// <summary>One unit of writing: what store methods that write take (see the class remarks). Commit it, or dispose it to roll back.</summary>
    public sealed class Write(DbConnection db, DbTransaction? transaction, IDisposable? turn) : IAsyncDisposable
    {
        public DbConnection Db { get; } = db;

        /// <summary>The write's transaction (a PostgreSQL <see cref="BeginGroupWriteAsync"/> has none: its batch is one).</summary>
        public DbTransaction Transaction => transaction ?? throw new InvalidOperationException("A group write on PostgreSQL has no transaction of its own.");

        public Task CommitAsync(CancellationToken cancellationToken) => transaction?.CommitAsync(cancellationToken) ?? Task.CompletedTask;

        /// <summary>A statement in this write: its connection, its transaction and the caller's cancellation.</summary>
        public Task<int> ExecuteAsync(string sql, object? parameters, CancellationToken cancellationToken) =>
            Db.ExecuteAsync(new CommandDefinition(sql, parameters, Transaction, cancellationToken: cancellationToken));

        /// <summary>One row or none, read inside this write (so it sees what the write changed, and PostgreSQL can lock it).</summary>
        public Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? parameters, CancellationToken cancellationToken) =>
            Db.QuerySingleOrDefaultAsync<T>(new CommandDefinition(sql, parameters, Transaction, cancellationToken: cancellationToken));

        /// <summary>Rows read inside this write, which sees what it changed.</summary>
        public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters, CancellationToken cancellationToken) =>
            (await Db.QueryAsync<T>(new CommandDefinition(sql, parameters, Transaction, cancellationToken: cancellationToken))).AsList();

        public async ValueTask DisposeAsync()
        {
            if (transaction is not null)
                await transaction.DisposeAsync();
            await Db.DisposeAsync();
            turn?.Dispose();
        }
    }

    private async Task<DbConnection> OpenAsync(string connectionString, int cacheKib, bool writer, CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);

        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // Per-connection settings (a pooled connection keeps the last ones: set them all every time); WAL itself
        // is persistent and set by the first migration. The WAL is checkpointed in the background
        // (SqliteCheckpointer); writers do it themselves only past 256 MiB.
        await using var pragmas = connection.CreateCommand();
        pragmas.CommandText = $"pragma busy_timeout = {_busyTimeoutMs}; pragma synchronous = NORMAL; pragma foreign_keys = ON; pragma cache_size = -{cacheKib}; pragma wal_autocheckpoint = 65536; pragma query_only = {(writer ? 0 : 1)};";
        await pragmas.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}

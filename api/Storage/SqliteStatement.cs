using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Platform.Api.Storage;

/// <summary>
/// A SQLite statement prepared once and run many times with its values bound by position, for hot write
/// paths. Microsoft.Data.Sqlite binds each value by name on every execution (a UTF-8 copy of the name and a
/// linear search of the statement's names per value); at ingest rates that was a third of the writer's time.
/// It runs in whatever transaction its connection has open.
/// </summary>
public sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    /// <summary>Binds a value to the 1-based <paramref name="position"/> of the statement's parameters.</summary>
    public void Bind(int position, string value) => Check(raw.sqlite3_bind_text(_statement, position, value));

    /// <inheritdoc cref="Bind(int, string)"/>
    public void Bind(int position, long value) => Check(raw.sqlite3_bind_int64(_statement, position, value));

    /// <summary>A timestamp as Microsoft.Data.Sqlite writes it, so that both paths store the same text (UTC: text order is time order).</summary>
    public void Bind(int position, DateTimeOffset value) =>
        Bind(position, value.ToUniversalTime().ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFFzzz", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Runs the statement to its next row: true when there is one (read it with <see cref="Text"/>), false when it is done.</summary>
    public bool Step()
    {
        var result = raw.sqlite3_step(_statement);
        if (result == raw.SQLITE_ROW)
            return true;
        if (result == raw.SQLITE_DONE)
            return false;
        // Reset returns the statement's actual error; step only says that there was one.
        raw.sqlite3_reset(_statement);
        throw Error(result);
    }

    public string Text(int column) => raw.sqlite3_column_text(_statement, column).utf8_to_string();

    /// <summary>Makes the statement ready to run again; the values stay bound until bound anew.</summary>
    public void Reset() => raw.sqlite3_reset(_statement);

    public void Dispose() => _statement.Dispose();

    private void Check(int result)
    {
        if (result != raw.SQLITE_OK)
            throw Error(result);
    }

    private SqliteException Error(int result) =>
        new(raw.sqlite3_errmsg(_db).utf8_to_string(), result, raw.sqlite3_extended_errcode(_db));
}

namespace Platform.Api.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Bound from <c>Platform:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Platform:Storage";

    /// <summary>SQLite (embedded default, a file in the data directory) or PostgreSQL (scale-out).</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>Npgsql connection string; required for PostgreSQL, ignored for SQLite.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long a SQLite writer waits for another writer before giving up.</summary>
    public int SqliteBusyTimeoutMs { get; set; } = 5000;

    /// <summary>How often the write-ahead log is copied into the SQLite database in the background.</summary>
    public int SqliteCheckpointIntervalMs { get; set; } = 1000;
}

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

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (SqliteBusyTimeoutMs < 0)
            yield return $"{Section}:SqliteBusyTimeoutMs must be 0 or more.";
        if (SqliteCheckpointIntervalMs < 1)
            yield return $"{Section}:SqliteCheckpointIntervalMs must be at least 1.";
        if (Provider != StorageProvider.Postgres)
            yield break;
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return $"{Section}:ConnectionString is required when the provider is Postgres.";
            yield break;
        }

        string? malformed = null;
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException e)
        {
            malformed = e.Message;
        }

        if (malformed is not null)
            yield return $"{Section}:ConnectionString is not an Npgsql connection string (Host=...;Database=...;Username=...): {malformed}";
    }
}

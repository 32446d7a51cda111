using System.Net.Sockets;
using Npgsql;

namespace Platform.Api.Storage;

/// <summary>
/// The start-up check that the store can be reached (api/Hosting/StartupChecks.cs asks it before anything is created).
/// Here, beside the rest of Storage, because nothing else in the api opens a connection of its own.
/// </summary>
public static class StorageReachability
{
    /// <summary>PostgreSQL reachable with the connection string given (SQLite's file is in the data directory, which StartupChecks tries first).</summary>
    public static async Task<string?> ProblemAsync(StorageOptions storage, CancellationToken cancellationToken)
    {
        if (storage.Provider != StorageProvider.Postgres)
            return null;
        try
        {
            await using var connection = new NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or ArgumentException)
        {
            var reason = e.InnerException is { } inner && inner.Message != e.Message ? $"{e.Message} ({inner.Message})" : e.Message;
            return $"{StorageOptions.Section}:ConnectionString: PostgreSQL cannot be reached: {reason}";
        }
    }
}

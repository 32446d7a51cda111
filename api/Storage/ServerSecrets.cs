using System.Security.Cryptography;

namespace Platform.Api.Storage;

/// <summary>
/// Keys the API keeps for itself (today the cursor signing key), in the database: every API instance on one
/// database signs and checks with the same key, and cursors outlive a restart. Made once, by whichever
/// instance starts first; the others read what it wrote.
/// </summary>
public sealed class ServerSecrets(Database database)
{
    private const string CursorKeyName = "cursor-hmac";
    private byte[]? _cursorKey;

    public byte[] CursorKey => _cursorKey ?? throw new InvalidOperationException("Server secrets are read at start-up (PrepareStorageAsync).");

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        const string insert = "insert into server_secret (name, value) values (@name, @value) on conflict (name) do nothing";
        const string select = "select value from server_secret where name = @name";
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var fresh = RandomNumberGenerator.GetBytes(32);
        await write.Db.ExecuteAsync(new CommandDefinition(insert, new { name = CursorKeyName, value = fresh }, write.Transaction, cancellationToken: cancellationToken));
        _cursorKey = await write.Db.QuerySingleAsync<byte[]>(new CommandDefinition(select, new { name = CursorKeyName }, write.Transaction, cancellationToken: cancellationToken));
        await write.CommitAsync(cancellationToken);
    }
}

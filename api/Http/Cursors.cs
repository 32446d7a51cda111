using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Platform.Api.Http;

/// <summary>
/// Opaque page cursors: base64url of a version byte, the list's sort key and an HMAC-SHA256 (truncated to 128 bits)
/// over the list's name, the version and the key, with a key the API keeps in its database (<see cref="ServerSecrets"/>).
/// A cursor the API did not issue for that list (crafted, truncated, altered, from another list or another
/// installation) is a 400 invalid-cursor problem; nothing in it is parsed before its MAC is checked.
/// </summary>
public sealed class Cursors(ServerSecrets secrets)
{
    private const byte Version = 2;
    private const int TagLength = 16;
    /// <summary>As openapi.yaml's Cursor parameter says.</summary>
    public const int MaxLength = 200;

    public string Encode<TKey>(CursorList<TKey> list, TKey key)
    {
        var writer = new CursorWriter();
        writer.Byte(Version);
        list.Write(writer, key);
        var tag = Tag(list.Name, writer.Written);
        writer.Bytes(tag.AsSpan(0, TagLength));
        return Base64Url.EncodeToString(writer.Written);
    }

    /// <summary>False for the first page (no cursor); the key after which the page starts otherwise.</summary>
    public bool TryDecode<TKey>(CursorList<TKey> list, string? cursor, [MaybeNullWhen(false)] out TKey key)
    {
        key = default;
        if (cursor is null)
            return false;
        if (cursor.Length is 0 or > MaxLength)
            throw new InvalidCursorException();
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(cursor);
        }
        catch (FormatException)
        {
            throw new InvalidCursorException();
        }

        if (bytes.Length < 1 + TagLength || bytes[0] != Version)
            throw new InvalidCursorException();
        var signed = bytes.AsSpan(0, bytes.Length - TagLength);
        var expected = Tag(list.Name, signed);
        if (!CryptographicOperations.FixedTimeEquals(expected.AsSpan(0, TagLength), bytes.AsSpan(bytes.Length - TagLength)))
            throw new InvalidCursorException();
        // Signed by this API, so well formed; checked all the same, so that a bug here is a 400, not a 500.
        var reader = new CursorReader(bytes.AsMemory(1, signed.Length - 1));
        key = list.Read(reader);
        reader.End();
        return true;
    }

    /// <summary>Turns limit+1 rows into a page: the extra row only says there is a next page.</summary>
    public (IReadOnlyList<T> Items, string? NextCursor) Page<T, TKey>(IReadOnlyList<T> rows, int limit, CursorList<TKey> list, Func<T, TKey> key)
    {
        if (rows.Count <= limit)
            return (rows, null);
        var items = rows.Take(limit).ToList();
        return (items, Encode(list, key(items[^1])));
    }

    /// <summary>
    /// A page read from where the cursor says: the cursor is checked first (a 400 before anything is read), then
    /// <paramref name="read"/> is asked for limit+1 rows after its key (null: from the start); null when it found no
    /// list to read (its parent does not exist).
    /// </summary>
    public async Task<(IReadOnlyList<T> Items, string? NextCursor)?> PageAsync<T, TKey>(CursorList<TKey> list, string? cursor, int limit,
        Func<TKey?, int, Task<IReadOnlyList<T>?>> read, Func<T, TKey> key)
        where TKey : class
    {
        var after = TryDecode(list, cursor, out var decoded) ? decoded : default;
        return await read(after, limit + 1) is { } rows ? Page(rows, limit, list, key) : null;
    }

    private byte[] Tag(string listName, ReadOnlySpan<byte> signed)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secrets.CursorKey);
        hmac.AppendData(Encoding.UTF8.GetBytes(listName));
        hmac.AppendData([0]);
        hmac.AppendData(signed);
        return hmac.GetHashAndReset();
    }
}

using System.Buffers.Text;
using System.Text;

namespace Platform.Api.Http;

/// <summary>
/// Opaque page cursors: the sort key of the last item returned, versioned so the format can change.
/// Clients pass <c>nextCursor</c> back unchanged.
/// </summary>
public static class Cursor
{
    private const string Version = "v1:";

    public static string Encode(string lastKey) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Version + lastKey));

    /// <summary>The key after which the page starts, or null for the first page.</summary>
    public static string? Decode(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
            return null;
        try
        {
            var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
            if (text.StartsWith(Version, StringComparison.Ordinal) && text.Length > Version.Length)
                return text[Version.Length..];
        }
        catch (FormatException)
        {
        }

        throw new BadHttpRequestException("Query parameter 'cursor' is not a cursor this API issued; pass 'nextCursor' from the previous page unchanged.");
    }

    /// <summary>Turns limit+1 rows into a page: the extra row only says there is a next page.</summary>
    public static (IReadOnlyList<T> Items, string? NextCursor) Page<T>(IReadOnlyList<T> rows, int limit, Func<T, string> key)
    {
        if (rows.Count <= limit)
            return (rows, null);
        var items = rows.Take(limit).ToList();
        return (items, Encode(key(items[^1])));
    }
}

namespace Platform.Api.Storage;

/// <summary>
/// Opaque ids with a type prefix (<c>tok_</c>, <c>agt_</c>, ...). UUIDv7 inside: time-ordered, so inserts stay
/// cheap and "oldest first" is the key order; no sequence is shared between rows or instances.
/// </summary>
public static class Ids
{
    public static string New(string type) => type + "_" + Guid.CreateVersion7().ToString("N");
}

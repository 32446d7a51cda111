namespace Platform.Api.Http;

/// <summary>
/// One list operation's cursor: its name (signed into every cursor, so one list's cursor is refused by another)
/// and how its sort key is written and read. Handlers only ever see the typed key.
/// </summary>
public sealed class CursorList<TKey>(string name, Action<CursorWriter, TKey> write, Func<CursorReader, TKey> read)
{
    public string Name { get; } = name;

    internal void Write(CursorWriter writer, TKey key) => write(writer, key);

    internal TKey Read(CursorReader reader) => read(reader);
}

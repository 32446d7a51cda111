namespace Platform.Api.Storage;

/// <summary>
/// The statement that stores a row class as one row: <c>insert into table (a_column, …) values (@AColumn, …)</c>.
/// A row class's properties are its columns in PascalCase (read back through <see cref="SqlMapping"/>'s snake_case
/// matching), so the parameters follow from the column list, and a column added to one cannot be missed in the other.
/// </summary>
public static class InsertStatement
{
    /// <param name="columns">The store's column list, comma-separated, in snake_case.</param>
    public static string For(string table, string columns) =>
        $"insert into {table} ({columns}) values ({string.Join(", ", columns.Split(',', StringSplitOptions.TrimEntries).Select(Parameter))})";

    private static string Parameter(string column) =>
        "@" + string.Concat(column.Split('_').Select(word => char.ToUpperInvariant(word[0]) + word[1..]));
}

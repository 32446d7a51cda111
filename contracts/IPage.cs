namespace Platform.Contracts;

/// <summary>
/// One page of a list operation (openapi.yaml's <c>*Page</c> schemas: <c>items</c> and, but on the last page,
/// <c>nextCursor</c>), so a client follows the cursor in one place whatever it lists. The generated types that are
/// pages say so in contracts/Pages.cs.
/// </summary>
public interface IPage<out TItem>
{
    IReadOnlyList<TItem> Items { get; }

    /// <summary>Pass as <c>cursor</c> for the next page; null on the last page.</summary>
    string? NextCursor { get; }
}

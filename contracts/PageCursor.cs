namespace Platform.Contracts;

/// <summary>
/// Follows a list operation's <c>nextCursor</c> from its first page to its last: the one loop every client (platformctl,
/// the console, the tests) needs. The caller's <c>fetch</c>(cursor) awaits the generated client's call (a Task of a
/// generated page type does not convert to a Task of <see cref="IPage{TItem}"/>: Task is not covariant). Stop early by
/// leaving the loop (<c>Take</c>, <c>break</c>): no page after that is fetched.
/// </summary>
public static class PageCursor
{
    /// <summary>Every page, in order.</summary>
    public static async IAsyncEnumerable<IPage<TItem>> PagesAsync<TItem>(Func<string?, Task<IPage<TItem>>> fetch)
    {
        string? cursor = null;
        do
        {
            var page = await fetch(cursor);
            yield return page;
            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    /// <summary>Every item, page after page.</summary>
    public static async IAsyncEnumerable<TItem> ItemsAsync<TItem>(Func<string?, Task<IPage<TItem>>> fetch)
    {
        await foreach (var page in PagesAsync(fetch))
        {
            foreach (var item in page.Items)
                yield return item;
        }
    }
}

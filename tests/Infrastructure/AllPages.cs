using Platform.Contracts;

namespace Platform.Tests.Infrastructure;

/// <summary>Every item of a list, page after page by nextCursor, each page checked to hold no more than the limit asked for.</summary>
public static class AllPages
{
    public static async Task<List<TItem>> ReadAsync<TItem>(int limit, Func<string?, Task<IPage<TItem>>> fetch)
    {
        var items = new List<TItem>();
        await foreach (var page in PageCursor.PagesAsync(fetch))
        {
            Assert.True(page.Items.Count <= limit, $"{page.Items.Count} items on a page of at most {limit}");
            items.AddRange(page.Items);
        }
        return items;
    }
}

using Platform.Contracts;

namespace Platform.Tests.Contract;

/// <summary>Every generated page type is an <see cref="IPage{TItem}"/>, so platformctl's paging (cli/Paging.cs) can follow it.</summary>
public sealed class PageTests
{
    [Fact]
    public void Every_generated_type_with_items_and_a_next_cursor_is_a_page_of_its_items()
    {
        var pages = typeof(PlatformClient).Assembly.GetExportedTypes()
            .Where(type => type.GetProperty("NextCursor")?.PropertyType == typeof(string))
            .Select(type => (type, items: type.GetProperty("Items")?.PropertyType))
            .Where(page => page.items is { IsGenericType: true } list && list.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
            .ToList();

        Assert.Contains(pages, page => page.type == typeof(TokenPage)); // the filter finds the generated pages at all
        var missing = pages
            .Where(page => !typeof(IPage<>).MakeGenericType(page.items!.GetGenericArguments()[0]).IsAssignableFrom(page.type))
            .Select(page => page.type.Name)
            .ToList();
        Assert.True(missing.Count == 0, "Not declared as IPage in contracts/Pages.cs: " + string.Join(", ", missing));
    }
}

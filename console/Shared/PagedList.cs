using Platform.WebConsole.Session;

namespace Platform.WebConsole.Shared;

/// <summary>
/// A list page's rows: the first page for the current filters, more on request by the API's cursor, and the API's
/// problem when a call fails (the rows already shown stay). Null rows while the first page loads (placeholders keep
/// the layout still).
/// </summary>
public sealed class PagedList<TItem>
{
    private Func<string?, Task<IPage<TItem>>>? _fetch;
    private string? _next;

    public List<TItem>? Items { get; private set; }

    public ProblemDetails? Problem { get; private set; }

    public bool HasMore => _next is not null;

    /// <summary>Starts over with another query (the filters changed).</summary>
    public Task LoadAsync(Func<string?, Task<IPage<TItem>>> fetch)
    {
        _fetch = fetch;
        _next = null;
        return FetchAsync(reset: true);
    }

    public Task MoreAsync() => _next is null ? Task.CompletedTask : FetchAsync(reset: false);

    private async Task FetchAsync(bool reset)
    {
        Problem = await Problems.TryAsync(async () =>
        {
            var page = await _fetch!(reset ? null : _next);
            Items = reset ? [.. page.Items] : [.. Items ?? [], .. page.Items];
            _next = page.NextCursor;
        });
        Items ??= [];
    }
}

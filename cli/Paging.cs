namespace Platform.Cli;

/// <summary>
/// <c>--limit</c> and <c>--all</c> for list commands: pages are followed by their cursor until enough items are in
/// (the API's pages are at most 200; the limit here is how many to show, not a page size).
/// </summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    private const int PageSize = 200;

    public static readonly Option<int> Limit = new("--limit")
    {
        Description = $"Show at most this many (default {DefaultLimit}).",
        DefaultValueFactory = _ => DefaultLimit,
        Validators = { result => { if (result.GetValueOrDefault<int>() < 1) result.AddError("--limit must be at least 1."); } },
    };

    public static readonly Option<bool> All = new("--all") { Description = "Show every item (follows every page)." };

    public static Command WithPaging(this Command command) => command.With(Limit, All);

    // The methods below take pages as IPage<TItem>: a Task of a generated page type does not convert to that (Task is
    // not covariant), so callers name the item type and await the client's call in their lambda.

    /// <summary>
    /// A list command: <c>--limit</c>/<c>--all</c>, pages fetched by <paramref name="fetch"/>(client, run, cursor, page
    /// size) and followed by their next cursor, the items printed as a table (or, with json output, each page as the API
    /// answered it: see <see cref="CollectAsync"/>).
    /// </summary>
    public static Command Lists<TItem>(
        this Command command,
        CliHost host,
        Func<Contracts.PlatformClient, Invocation, string?, int, CancellationToken, Task<IPage<TItem>>> fetch,
        params (string Header, Func<TItem, string?> Cell)[] columns) =>
        command.WithPaging().Does(host, async (run, cancellationToken) =>
        {
            var client = run.Client();
            var items = await CollectAsync(run, (cursor, limit) => fetch(client, run, cursor, limit, cancellationToken));
            if (!run.Output.Json)
                run.Output.Table(items, columns);
            return ExitCodes.Ok;
        });

    /// <summary>
    /// As many items as <c>--limit</c>/<c>--all</c> ask for, from pages fetched with <paramref name="fetch"/>(cursor, page
    /// size). With json output each page is printed as it arrives, exactly as the API answered it, one a line: a page
    /// asks for no more items than are still wanted, so the pages printed hold the items listed and no others.
    /// </summary>
    public static async Task<IReadOnlyList<TItem>> CollectAsync<TItem>(Invocation run, Func<string?, int, Task<IPage<TItem>>> fetch)
    {
        var wanted = run.Get(All) ? int.MaxValue : run.Get(Limit);
        var collected = new List<TItem>();
        string? cursor = null;
        do
        {
            var page = await fetch(cursor, Math.Min(PageSize, wanted - collected.Count));
            if (run.Output.Json)
                run.Output.Answer();
            collected.AddRange(page.Items.Take(wanted - collected.Count));
            cursor = page.NextCursor;
        }
        while (cursor is not null && collected.Count < wanted);

        if (cursor is not null && !run.Output.Json)
            await run.Host.Error.WriteLineAsync($"showing the first {collected.Count}; --limit N or --all for more");
        return collected;
    }
}

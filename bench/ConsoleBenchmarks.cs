using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.WebConsole;

namespace Platform.Bench;

/// <summary>
/// Incident Explorer over 100,000 incidents, in Debian's Chromium (headless, as the browser tests drive it): from the
/// navigation to the first page of the queue drawn (first meaningful paint), cold (nothing cached) and warm (a reload),
/// and from applying a filter to its rows drawn. Beside them, in the same run: the two API calls the queue waits on
/// (listIncidents and countIncidents, over HTTP from .NET), the floor of what the console can do; and the bytes the
/// first load moves.
/// </summary>
public static class ConsoleBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var count = settings.GetValueOrDefault("incidents", 100_000);
        var rounds = settings.GetValueOrDefault("rounds", 7);
        await using var api = new BenchApi(StorageProvider.Sqlite, settings: new Dictionary<string, string> { ["Platform:Detection:Enabled"] = "false" });
        var admin = api.Client(api.AdminSecret);
        await IncidentBenchmarks.FillAsync(api.Services.GetRequiredService<Database>(), [.. Enumerable.Range(0, 200).Select(_ => Ids.New("agt"))], count);
        var origin = api.Http(api.AdminSecret).BaseAddress!;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("PLATFORM_CHROMIUM") is { Length: > 0 } given ? given : "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox"],
        });

        var cold = new List<double>();
        var warm = new List<double>();
        var filter = new List<double>();
        var floor = new List<double>();
        var firstLoad = "";
        for (var round = 0; round < rounds; round++)
        {
            // The floor: the queue's two calls, as the console makes them.
            var watch = Stopwatch.StartNew();
            await Task.WhenAll(
                admin.ListIncidentsAsync(limit: 50, sort: IncidentSort.LastSeenDescending),
                admin.CountIncidentsAsync());
            floor.Add(watch.Elapsed.TotalMilliseconds);

            await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = origin.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 800 } });
            // Signed in as a person who signed in before in this tab (the token in sessionStorage), so the time is the queue's.
            await context.AddInitScriptAsync($"sessionStorage.setItem('platform-console-token', '{api.AdminSecret}')");
            var page = await context.NewPageAsync();
            var ledger = new NetworkLedger();
            await ledger.AttachAsync(context, page);

            cold.Add(await TimeAsync(async () => await page.GotoAsync("/console/incidents"), page, "incidents"));
            await ledger.SettledAsync();
            if (round == 0)
                firstLoad = ledger.Summary();
            warm.Add(await TimeAsync(async () => await page.ReloadAsync(), page, "incidents"));

            await page.Locator("input[name='severity'][value='critical']").CheckAsync();
            await page.Locator("input[name='status'][value='open']").CheckAsync();
            filter.Add(await TimeAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Apply filters" }).ClickAsync(), page, "incidents?status=open&severity=critical"));
        }

        // The first round warms the api (and the JIT of both sides) up.
        string Figures(List<double> samples) => Benchmarks.Percentiles(samples.Skip(1).ToList());
        results.Add(($"Console: incident queue, {count:N0} incidents (SQLite), first meaningful paint, cold (nothing cached)", Figures(cold), "< 1 s"));
        results.Add(($"Console: incident queue, {count:N0} incidents, first meaningful paint, warm (reload)", Figures(warm), "< 1 s"));
        results.Add(($"Console: incident queue, {count:N0} incidents, a filter change (open + critical) until its rows are drawn", Figures(filter), "< 1 s"));
        results.Add(($"Baseline: the queue's two API calls (listIncidents -lastSeen + countIncidents) from .NET, same run", Figures(floor), "(floor)"));
        results.Add(("Console: first load, what crossed the network (debug build, as `dotnet run --project api` serves it)", firstLoad, "report"));
    }

    /// <summary>Milliseconds from <paramref name="act"/> to the queue showing the rows of <paramref name="query"/> (its address relative to /console/).</summary>
    private static async Task<double> TimeAsync(Func<Task> act, IPage page, string query)
    {
        var watch = Stopwatch.StartNew();
        await act();
        try
        {
            await page.Locator($"table.incidents[data-rendered$='{query}'] tr[data-incident]").First.WaitForAsync(new() { Timeout = 120_000 });
        }
        catch (TimeoutException)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(Path.GetTempPath(), "console-benchmark-timeout.png") });
            throw new TimeoutException($"The queue did not show {query} within 2 minutes; it showed {await page.Locator("main").InnerTextAsync()}");
        }
        return watch.Elapsed.TotalMilliseconds;
    }
}

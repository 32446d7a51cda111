using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Platform.Api.Storage;
using Platform.Contracts;
using Platform.Tests.Infrastructure;
using Platform.Tests.WebConsole;

namespace Platform.Bench;

/// <summary>
/// Incident Explorer over 100,000 incidents, in Debian's Chromium (headless, as the browser tests drive it): from the
/// navigation to the first page of the queue drawn (first meaningful paint), cold (nothing cached) and warm (a reload),
/// and from applying a filter to its rows drawn. Beside them, in the same run: the two API calls the queue waits on
/// (listIncidents and countIncidents, over HTTP from .NET), the floor of what the console can do; and the bytes the
/// first load moves. Twice: as the build output serves it (`dotnet run --project api`) and as a published api does.
/// </summary>
public static class ConsoleBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var count = settings.GetValueOrDefault("incidents", 100_000);
        var rounds = settings.GetValueOrDefault("rounds", 7);
        var data = Directory.CreateTempSubdirectory("platform-bench-console-").FullName;
        var published = Directory.CreateTempSubdirectory("platform-bench-console-api-").FullName;
        var detectionOff = new Dictionary<string, string> { ["Platform:Detection:Enabled"] = "false" };
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Environment.GetEnvironmentVariable("PLATFORM_CHROMIUM") is { Length: > 0 } given ? given : "/usr/bin/chromium",
                Headless = true,
                Args = ["--no-sandbox"],
            });

            // 1. The api as `dotnet run --project api` serves the console: its build output (bench/run.sh: Release), in process.
            string secret;
            await using (var api = new BenchApi(StorageProvider.Sqlite, data, detectionOff))
            {
                secret = api.AdminSecret;
                var admin = api.Client(secret);
                await IncidentBenchmarks.FillAsync(api.Services.GetRequiredService<Database>(), [.. Enumerable.Range(0, 200).Select(_ => Ids.New("agt"))], count);
                await MeasureAsync(browser, api.Http(secret).BaseAddress!, secret, admin, count, rounds, "build output, as `dotnet run --project api` serves it", results);
            }

            // 2. The api as it is deployed: published (the console trimmed, in Release), its own process, on the same data.
            await PublishAsync(published);
            var address = new Uri($"http://127.0.0.1:{FreePort()}/");
            await using var process = await ApiProcess.StartAsync(data, secret, published: Path.Combine(published, "Platform.Api.dll"), alsoOn: address,
                settings: new Dictionary<string, string?> { ["Platform__Detection__Enabled"] = "false" });
            using var http = new HttpClient { BaseAddress = address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            await MeasureAsync(browser, address, secret, new PlatformClient(http), count, rounds, "published (`dotnet publish api`: the console trimmed)", results);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
            Directory.Delete(published, recursive: true);
        }
    }

    private static async Task MeasureAsync(IBrowser browser, Uri origin, string secret, PlatformClient admin, int count, int rounds, string served,
        List<(string Benchmark, string Figure, string Target)> results)
    {
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
            await context.AddInitScriptAsync($"sessionStorage.setItem('platform-console-token', '{secret}')");
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
        results.Add(($"Console ({served}): incident queue, {count:N0} incidents (SQLite), first meaningful paint, cold (nothing cached)", Figures(cold), "< 1 s"));
        results.Add(($"Console ({served}): first meaningful paint, warm (reload)", Figures(warm), "< 1 s"));
        results.Add(($"Console ({served}): a filter change (open + critical) until its rows are drawn", Figures(filter), "< 1 s"));
        results.Add(($"Baseline ({served}): the queue's two API calls (listIncidents -lastSeen + countIncidents) from .NET", Figures(floor), "(floor)"));
        results.Add(($"Console ({served}): first load, what crossed the network", firstLoad, "report"));
    }

    private static async Task PublishAsync(string output)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Platform.sln")))
            root = root.Parent ?? throw new InvalidOperationException("Platform.sln not found");
        using var publish = Process.Start(new ProcessStartInfo("dotnet", ["publish", Path.Combine(root.FullName, "api", "Platform.Api.csproj"), "-c", "Release", "-o", output, "-v", "q", "-nologo"])
        {
            RedirectStandardOutput = true,
        })!;
        var said = await publish.StandardOutput.ReadToEndAsync();
        await publish.WaitForExitAsync();
        if (publish.ExitCode != 0)
            throw new InvalidOperationException("dotnet publish api failed:\n" + said);
    }

    /// <summary>A loopback port nobody holds now (the published api listens there as well as on its socket, for the browser).</summary>
    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
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

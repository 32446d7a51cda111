using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Platform.Tests.WebConsole;

/// <summary>
/// One test's browser: a fresh context (1280x800, nothing shared with another test) and its page on the api's
/// origin, with <see cref="Problems"/> and <see cref="Network"/> recording from before the first navigation.
/// Disposing it closes the context; it does not assert, so a test ends with <see cref="AssertNothingWentWrong"/>.
/// </summary>
public sealed class ConsoleSession : IAsyncDisposable
{
    private readonly ConsoleApi _api;
    private readonly ITestOutputHelper _output;

    private ConsoleSession(ConsoleApi api, ITestOutputHelper output, IBrowserContext context, IPage page)
    {
        (_api, _output, Context, Page) = (api, output, context, page);
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public BrowserProblems Problems { get; } = new();

    public NetworkLedger Network { get; } = new();

    /// <summary>The api's origin, which is the console's.</summary>
    public Uri Origin => _api.Origin;

    internal static async Task<ConsoleSession> OpenAsync(IBrowser browser, ConsoleApi api, ITestOutputHelper output)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = api.Origin.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout((float)ConsoleBrowser.Patience.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)ConsoleBrowser.Patience.TotalMilliseconds);
        var page = await context.NewPageAsync();
        var session = new ConsoleSession(api, output, context, page);
        await session.Problems.WatchAsync(context, page);
        await session.Network.AttachAsync(context, page);
        return session;
    }

    /// <summary>Goes to <paramref name="path"/> (on the api's origin, e.g. "/console/incidents/inc_1") and waits until the app has booted.</summary>
    public async Task<IResponse?> OpenAsync(string path)
    {
        var response = await Page.GotoAsync(path);
        await WaitForAppAsync();
        return response;
    }

    /// <summary>
    /// Waits until the Blazor app has rendered: index.html's <c>#app .booting</c> paragraph is replaced on the first
    /// render; a layout that marks itself <c>data-app-ready="false"</c> while it gets ready is waited for too. Fails at
    /// once when Blazor shows its error bar (#blazor-error-ui), with what the browser saw, instead of timing out.
    /// </summary>
    public async Task WaitForAppAsync()
    {
        var booted = BootedAsync();
        var broken = Page.Locator("#blazor-error-ui").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible });
        try
        {
            if (await Task.WhenAny(booted, broken) == broken)
            {
                await broken;
                throw new Xunit.Sdk.XunitException("The console showed its error bar while booting:\n  " + string.Join("\n  ", Problems.All));
            }

            await booted;
        }
        catch (TimeoutException e)
        {
            throw new Xunit.Sdk.XunitException($"The console did not boot within {ConsoleBrowser.Patience.TotalSeconds} s ({e.Message}); the browser saw:\n  " + string.Join("\n  ", Problems.All.Concat(Problems.ConsoleMessages)));
        }
        finally
        {
            _ = broken.ContinueWith(t => t.Exception, TaskScheduler.Default); // the loser of the race times out later, unobserved
        }
    }

    private async Task BootedAsync()
    {
        await Page.Locator("#app").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });
        await Page.Locator("#app .booting").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        await Page.Locator("[data-app-ready='false']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
    }

    /// <summary>A 1280x800 PNG of the page in TestResults/console/ (<see cref="ConsoleScreenshots"/>).</summary>
    public async Task<string> Screenshot(string name)
    {
        var path = await ConsoleScreenshots.Screenshot(Page, name);
        _output.WriteLine("screenshot: " + path);
        return path;
    }

    /// <summary>
    /// Fails on anything the browser saw go wrong (CSP violations, uncaught errors, console errors and warnings, failed
    /// requests) that the test did not <see cref="BrowserProblems.Expect"/>, and on any call of the console to the api
    /// that broke openapi.yaml.
    /// </summary>
    public void AssertNothingWentWrong()
    {
        Problems.AssertNone();
        _api.AssertServedToTheSpec();
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}

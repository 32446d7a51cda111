using Microsoft.Playwright;
using Platform.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Platform.Tests.WebConsole;

/// <summary>
/// One headless Chromium for the console's tests, driven by Playwright: Debian's <c>chromium</c> (or the one
/// PLATFORM_CHROMIUM names), since Playwright's own browser download cannot work here. Each test opens a
/// <see cref="ConsoleSession"/> of its own (a fresh browser context: no cookies, storage or cache from another test).
/// Without a browser the tests skip on a developer's machine and fail in CI (CI set), as the PostgreSQL tests do.
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    public const string ExecutableVariable = "PLATFORM_CHROMIUM";
    public const string DebianChromium = "/usr/bin/chromium";

    /// <summary>How long a test waits for the browser (boot, navigation, an element): generous, the machine is shared.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The Chromium the tests use.</summary>
    public static string Executable => Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } given ? given : DebianChromium;

    /// <summary>Why there is no browser here (null when there is one).</summary>
    public string? Missing { get; private set; }

    public async Task InitializeAsync()
    {
        if (!File.Exists(Executable))
        {
            Missing = $"No Chromium at {Executable} (apt-get install chromium, or set {ExecutableVariable}).";
            return;
        }

        // A Chromium that is there but does not start is a failure everywhere, not a skip.
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox"], // root in a container: Chromium's sandbox needs user namespaces it does not get
            Timeout = (float)Patience.TotalMilliseconds,
        });
    }

    /// <summary>
    /// A fresh browser context (1280x800) on <paramref name="api"/>'s origin with one page that records what goes wrong
    /// and what crosses the network. Skips (locally) or fails (in CI) when there is no browser. Call it from the test
    /// method itself: a skip is the test's, not the fixture's.
    /// </summary>
    public async Task<ConsoleSession> OpenAsync(ConsoleApi api, ITestOutputHelper output)
    {
        if (Missing is not null)
        {
            if (PostgresCluster.InCi)
                throw new InvalidOperationException("CI is set but the console's browser tests have no browser: " + Missing);
            Skip.If(true, Missing);
        }

        return await ConsoleSession.OpenAsync(_browser!, api, output);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
            await _browser.CloseAsync();
        _playwright?.Dispose();
    }
}

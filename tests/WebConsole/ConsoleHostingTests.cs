using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Http;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Platform.Tests.WebConsole;

/// <summary>
/// How the api serves Incident Explorer at /console (api/WebConsole/ConsoleSetup.cs), seen by a real Chromium and by
/// plain HTTP: it boots under its own strict CSP with nothing going wrong, loads only from its own origin, cannot be
/// framed, and deep links open the app while a missing file stays missing. No page's markup is assumed beyond "the
/// app rendered".
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleHostingTests(ConsoleBrowser browser, ConsoleApi api, ITestOutputHelper output) : IClassFixture<ConsoleApi>
{
    [SkippableFact]
    public async Task The_root_redirects_to_the_console_which_boots_with_no_CSP_violation_error_or_failed_request()
    {
        await using var session = await browser.OpenAsync(api, output);

        var response = await session.Page.GotoAsync("/");
        await session.WaitForAppAsync();

        Assert.Equal("/", new Uri(response!.Request.RedirectedFrom!.Url).AbsolutePath);
        Assert.Equal(new Uri(api.Origin, "/console/"), new Uri(session.Page.Url));
        Assert.True(await session.Page.Locator("#app > *").CountAsync() > 0, "the app rendered nothing into #app");
        await session.Network.SettledAsync();
        await session.Screenshot("boot");
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task A_deep_link_opened_in_the_browser_boots_the_app_with_its_assets_found()
    {
        await using var session = await browser.OpenAsync(api, output);

        var response = await session.OpenAsync("/console/deep/link/that-is-no-page");

        Assert.Equal(200, response!.Status);
        await session.Network.SettledAsync();
        Assert.DoesNotContain(session.Network.Requests, r => r.Status >= 400 || r.Failed);
        session.AssertNothingWentWrong();
    }

    /// <summary>
    /// The first load (nothing cached): every script and WebAssembly module, and every other request, is the console's
    /// own origin's. The number of requests and the bytes on the wire go to the test's output, for the record.
    /// </summary>
    [SkippableFact]
    public async Task Every_script_and_WebAssembly_module_of_the_first_load_comes_from_the_console_origin()
    {
        await using var session = await browser.OpenAsync(api, output);

        await session.OpenAsync("/console/");
        await session.Network.SettledAsync();

        var requests = session.Network.Requests.Where(r => r.Url.StartsWith("http", StringComparison.Ordinal)).ToList();
        output.WriteLine("first load: " + session.Network.Summary());
        Assert.Contains(requests, r => r.Type == "Script");
        Assert.Contains(requests, r => new Uri(r.Url).AbsolutePath.EndsWith(".wasm", StringComparison.Ordinal));
        var origin = api.Origin.GetLeftPart(UriPartial.Authority);
        Assert.All(requests, r => Assert.Equal(origin, new Uri(r.Url).GetLeftPart(UriPartial.Authority)));
        session.AssertNothingWentWrong();
    }

    /// <summary>
    /// The CSP holds in the browser, and the harness hears it: an inline script, a script from a data: URL and a string
    /// given to setTimeout (eval by another name) do not run in the console, and their violations fail the test. Without
    /// this, a CSP collector that heard nothing would pass every test. (Playwright's own evaluations are exempt from a
    /// page's CSP, like DevTools': what they inject is what the page would, and it is refused.)
    /// </summary>
    [SkippableFact]
    public async Task Inline_data_URL_and_string_evaluated_scripts_are_refused_by_the_CSP_and_fail_the_test()
    {
        await using var session = await browser.OpenAsync(api, output);
        await session.OpenAsync("/console/");
        session.AssertNothingWentWrong();

        await session.Page.EvaluateAsync("""
            () => {
                const inline = document.createElement('script');
                inline.textContent = 'window.ran = (window.ran || []).concat("inline")';
                document.head.appendChild(inline);
                const data = document.createElement('script');
                data.src = 'data:text/javascript,window.ran = (window.ran || []).concat("data")';
                document.head.appendChild(data);
                setTimeout('window.ran = (window.ran || []).concat("timer")', 0);
            }
            """);
        await session.Problems.SeenAsync("\"blocked\":\"inline\"");
        await session.Problems.SeenAsync("\"blocked\":\"data\"");
        await session.Problems.SeenAsync("\"blocked\":\"eval\"");

        Assert.Empty(await session.Page.EvaluateAsync<string[]>("() => window.ran || []"));
        Assert.Equal(3, session.Problems.CspViolations.Count);
        Assert.Throws<XunitException>(session.AssertNothingWentWrong);
    }

    /// <summary>The harness itself: an uncaught error fails a test unless the test said it expects exactly that one.</summary>
    [SkippableFact]
    public async Task An_uncaught_error_in_the_page_fails_the_test_unless_it_is_expected()
    {
        await using var session = await browser.OpenAsync(api, output);
        await session.OpenAsync("/console/");

        await session.Page.EvaluateAsync("() => { setTimeout(() => { throw new Error('harness check'); }, 0); }");
        await session.Problems.SeenAsync("harness check");

        session.Problems.Expect("some other error");
        Assert.Throws<XunitException>(session.AssertNothingWentWrong);
        session.Problems.Expect("harness check");
        session.AssertNothingWentWrong();
    }

    [Fact]
    public async Task The_root_redirects_to_the_console()
    {
        using var http = api.PlainHttp();
        using var response = await http.GetAsync("/");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/console/", response.Headers.Location!.OriginalString);
    }

    /// <summary>Scripts only from the origin (plus the import map's hash), no inline or eval, never in a frame.</summary>
    [Theory]
    [InlineData("/console/")]
    [InlineData("/console/incidents/inc_x")]
    public async Task The_console_is_sent_with_a_strict_CSP_and_may_not_be_framed(string path)
    {
        using var http = api.PlainHttp();
        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = Directives(Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal(["'none'"], policy["frame-ancestors"]);
        Assert.Equal(["'none'"], policy["default-src"]);
        Assert.Contains("'self'", policy["script-src"]);
        Assert.DoesNotContain("'unsafe-inline'", policy["script-src"]);
        Assert.DoesNotContain("'unsafe-eval'", policy["script-src"]);
        Assert.All(policy["script-src"], source => Assert.Matches("^('self'|'wasm-unsafe-eval'|'sha256-[A-Za-z0-9+/]+=*')$", source));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task A_deep_link_is_the_app_s_index_html_and_a_missing_file_is_a_404()
    {
        using var http = api.PlainHttp();
        var index = await http.GetStringAsync("/console/");

        using var deep = await http.GetAsync("/console/incidents/inc_x");
        Assert.Equal(HttpStatusCode.OK, deep.StatusCode);
        Assert.Equal("text/html", deep.Content.Headers.ContentType!.MediaType);
        Assert.Equal(index, await deep.Content.ReadAsStringAsync());
        Assert.Contains("<div id=\"app\">", index);

        using var missing = await http.GetAsync("/console/nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.DoesNotContain("<div id=\"app\">", await missing.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The api's rate limit is its API's budget (anonymous callers share one per address). One boot of the console
    /// fetches some 200 files: counted, three reloads in a minute would be refused the app's own files (429).
    /// </summary>
    [Fact]
    public async Task The_console_s_files_do_not_count_against_the_api_s_rate_limit()
    {
        using var http = api.PlainHttp();
        var index = await http.GetStringAsync("/console/");
        var script = Regex.Match(index, "<script src=\"(?<path>_framework/[^\"]+)\"").Groups["path"].Value;
        Assert.NotEmpty(script);
        var limit = api.Services.GetRequiredService<RateLimitOptions>().PermitsPerMinute;

        var refused = 0;
        for (var round = 0; round <= limit; round++)
        {
            foreach (var path in new[] { "/", "/console/", "/console/" + script, "/console/incidents/inc_x" })
            {
                using var response = await http.GetAsync(path);
                refused += response.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
            }
        }

        Assert.Equal(0, refused);
    }

    /// <summary>A CSP header as directive -> sources.</summary>
    private static Dictionary<string, string[]> Directives(string policy) => policy
        .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(d => d.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .ToDictionary(d => d[0], d => d[1..]);
}

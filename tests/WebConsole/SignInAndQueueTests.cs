using Microsoft.Playwright;
using Platform.Contracts;
using Xunit.Abstractions;

namespace Platform.Tests.WebConsole;

/// <summary>
/// Signing in and out of the console, and the incident queue on a fresh api: the seed scenario, pushed by the real agent's
/// simulate while the queue is open, appears in it without a reload.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class SignInAndQueueTests(ConsoleBrowser browser, ConsoleApi api, ITestOutputHelper output) : IClassFixture<ConsoleApi>
{
    [SkippableFact]
    public async Task A_refused_token_shows_the_apis_problem_and_the_secret_is_kept_nowhere_but_the_tab()
    {
        await using var session = await browser.OpenAsync(api, output);
        await session.OpenAsync("/console/incidents");
        await session.Screenshot("sign-in");
        session.Problems.Expect("401");
        await session.Page.Locator("#token").FillAsync("plt_not-a-token");
        await session.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await session.Page.Locator(".problem").WaitForAsync();
        Assert.Contains("(401)", await session.Page.Locator(".problem").InnerTextAsync(), StringComparison.Ordinal);

        var secret = await api.TokenFor(Role.Responder);
        await session.SignInAsync(secret);
        Assert.Equal("responder", await session.Page.Locator(".who .role").InnerTextAsync());
        // In the tab's sessionStorage only: no cookie, no localStorage, not in the URL.
        Assert.Empty(await session.Context.CookiesAsync());
        Assert.Equal(0, await session.Page.EvaluateAsync<int>("() => localStorage.length"));
        Assert.DoesNotContain(secret, session.Page.Url, StringComparison.Ordinal);

        // A reload keeps the tab signed in; signing out forgets the token.
        await session.Page.ReloadAsync();
        await session.WaitForAppAsync();
        await session.Page.Locator(".who .role").WaitForAsync();
        await session.Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await session.Page.Locator("#token").WaitForAsync();
        Assert.Null(await session.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('platform-console-token')"));
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task A_token_revoked_while_signed_in_signs_the_tab_out_saying_why()
    {
        var (_, token) = await api.ClientWithRole(Role.Analyst);
        await using var session = await browser.OpenAsync(api, output);
        await session.SignInAsync(token.Secret);

        await api.Admin().RevokeTokenAsync(token.Token.Id);
        session.Problems.Expect("401");

        // The queue's next call (its live updates ask every few seconds) is refused: the tab is signed out.
        await session.Page.Locator("#token").WaitForAsync();
        Assert.Contains("(401)", await session.Page.Locator(".problem").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Null(await session.Page.EvaluateAsync<string?>("() => sessionStorage.getItem('platform-console-token')"));
        session.AssertNothingWentWrong();
    }

    [SkippableFact]
    public async Task The_seed_scenario_pushed_by_simulate_appears_live_in_the_open_incident_queue()
    {
        await using var session = await browser.OpenAsync(api, output);
        await session.SignInAsync(await api.TokenFor(Role.Responder));
        var page = session.Page;
        await page.Locator("table.incidents[aria-busy='false']").WaitForAsync();
        var before = await page.Locator("table.incidents tr[data-incident]").CountAsync();

        await api.SimulateAsync("sim-live", "struts2");

        // No reload, no click: the queue's live updates bring it in.
        var exfiltration = page.Locator("tr[data-incident]", new() { HasText = "sent data to 203.0.113.9" });
        await exfiltration.WaitForAsync();
        Assert.True(await page.Locator("table.incidents tr[data-incident]").CountAsync() > before);
        Assert.Contains("critical", await exfiltration.InnerTextAsync(), StringComparison.Ordinal);
        await session.Screenshot("incidents");

        // Opening it is a link with a stable address.
        await exfiltration.GetByRole(AriaRole.Link).ClickAsync();
        await page.Locator("header.incident-head").WaitForAsync();
        Assert.Matches("/console/incidents/inc_[0-9a-f]{32}$", page.Url);
        session.AssertNothingWentWrong();
    }
}

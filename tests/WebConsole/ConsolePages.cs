using Microsoft.Playwright;

namespace Platform.Tests.WebConsole;

/// <summary>What a person does first on any page of the console: sign in with a token, as the sign-in form asks.</summary>
public static class ConsolePages
{
    /// <summary>Opens <paramref name="path"/>, signs in there with <paramref name="secret"/> and waits for the page behind the form.</summary>
    public static async Task SignInAsync(this ConsoleSession session, string secret, string path = "/console/incidents")
    {
        await session.OpenAsync(path);
        await session.Page.Locator("#token").FillAsync(secret);
        await session.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await session.Page.Locator(".who .role").WaitForAsync();
    }

    /// <summary>The rows of the table of a list page, once it has them (not its placeholders).</summary>
    public static ILocator Rows(this IPage page, string table) => page.Locator($"table.{table} tbody tr:not(.placeholder)");
}

using Microsoft.Playwright;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.WebConsole;

/// <summary>
/// Screenshots of the console's pages, 1280x800 PNGs in TestResults/console/ at the repository's root: CI keeps
/// TestResults as an artifact, so a reviewer sees each page as the tests left it. They are not committed
/// (.gitignore has TestResults/).
/// </summary>
public static class ConsoleScreenshots
{
    public static string Directory { get; } = Path.Combine(Repository.Root, "TestResults", "console");

    /// <summary>Writes the page's viewport as TestResults/console/<paramref name="name"/>.png and returns the file's path.</summary>
    public static async Task<string> Screenshot(IPage page, string name)
    {
        if (name.Length == 0 || name.IndexOfAny([.. Path.GetInvalidFileNameChars(), ' ']) >= 0)
            throw new ArgumentException($"'{name}' is not a plain file name (letters, digits, '-', '_').", nameof(name));
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, Type = ScreenshotType.Png, FullPage = false });
        return path;
    }
}

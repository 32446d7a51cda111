namespace Platform.WebConsole.Shared;

/// <summary>What a filter field holds, as the API takes it: nothing for blank text, the enum value the API names.</summary>
public static class Filters
{
    public static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    public static T? Parse<T>(string? text) where T : struct, Enum => SpecNames<T>.TryParse(text, out var value) ? value : null;
}

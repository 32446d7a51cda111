using System.Reflection;
using System.Text.Json.Serialization;

namespace Platform.Api.Http;

/// <summary>
/// Binds enum query parameters by the spec's values (<c>role=admin</c>), which Minimal APIs would otherwise
/// match case-sensitively against the C# names. Called by the generated route table.
/// </summary>
public static class SpecEnum
{
    public static T? ParseQuery<T>(string? text, string parameterName)
        where T : struct, Enum
    {
        if (string.IsNullOrEmpty(text))
            return null;
        return Find<T>(text)
            ?? throw new BadHttpRequestException($"Query parameter '{parameterName}' must be one of: {string.Join(", ", Values<T>())}; got '{text}'.");
    }

    public static IEnumerable<string> Values<T>()
        where T : struct, Enum =>
        typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(field => field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name);

    public static string ToSpec<T>(T value)
        where T : struct, Enum =>
        typeof(T).GetField(value.ToString())?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString();

    /// <summary>Reads a value the platform stored itself.</summary>
    public static T FromSpec<T>(string text)
        where T : struct, Enum =>
        Find<T>(text) ?? throw new InvalidOperationException($"'{text}' is not a {typeof(T).Name}.");

    private static T? Find<T>(string text)
        where T : struct, Enum
    {
        foreach (var field in typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var specName = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name;
            if (string.Equals(specName, text, StringComparison.Ordinal))
                return (T)field.GetValue(null)!;
        }

        return null;
    }
}

using System.Reflection;
using System.Text.Json.Serialization;

namespace Platform.Api.Http;

/// <summary>
/// Binds enum query parameters by the spec's values (<c>role=admin</c>), which Minimal APIs would otherwise
/// match case-sensitively against the C# names. Called by the generated route table.
/// </summary>
public static class SpecEnum
{
    /// <summary>Per enum type, the spec's name of each value and back (reflection once, not per call).</summary>
    private static class Names<T>
        where T : struct, Enum
    {
        public static readonly Dictionary<T, string> ToSpec = typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
            .ToDictionary(f => (T)f.GetValue(null)!, f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name);

        public static readonly Dictionary<string, T> FromSpec = ToSpec.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
    }

    public static T? ParseQuery<T>(string? text, string parameterName)
        where T : struct, Enum
    {
        if (string.IsNullOrEmpty(text))
            return null;
        return Find<T>(text)
            ?? throw new BadHttpRequestException($"Query parameter '{parameterName}' must be one of: {string.Join(", ", Values<T>())}; got '{text}'.");
    }

    public static IEnumerable<string> Values<T>()
        where T : struct, Enum => Names<T>.ToSpec.Values;

    public static string ToSpec<T>(T value)
        where T : struct, Enum => Names<T>.ToSpec.TryGetValue(value, out var name) ? name : value.ToString();

    /// <summary>Reads a value the platform stored itself.</summary>
    public static T FromSpec<T>(string text)
        where T : struct, Enum =>
        Find<T>(text) ?? throw new InvalidOperationException($"'{text}' is not a {typeof(T).Name}.");

    private static T? Find<T>(string text)
        where T : struct, Enum => Names<T>.FromSpec.TryGetValue(text, out var value) ? value : null;
}

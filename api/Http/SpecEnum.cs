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

    /// <summary>A repeated enum query parameter (<c>?status=open&amp;status=acknowledged</c>); null when absent.</summary>
    public static IEnumerable<T>? ParseQueryList<T>(string[]? texts, string parameterName, int maxItems)
        where T : struct, Enum
    {
        if (texts is not { Length: > 0 })
            return null;
        if (texts.Length > maxItems)
            throw new BadHttpRequestException($"Query parameter '{parameterName}' may be given at most {maxItems} times.");
        return texts.Select(text => ParseQuery<T>(text, parameterName) ?? throw new BadHttpRequestException($"Query parameter '{parameterName}' must not be empty.")).ToList();
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

    /// <summary>The spec's name of a value as UTF-8, for code that reads and writes JSON bytes itself.</summary>
    public static byte[] ToSpecUtf8<T>(T value)
        where T : struct, Enum => Utf8Names<T>.ToSpec[value];

    /// <summary>The value whose spec name is the UTF-8 <paramref name="name"/>, if any.</summary>
    public static T? FindUtf8<T>(ReadOnlySpan<byte> name)
        where T : struct, Enum
    {
        foreach (var (value, spec) in Utf8Names<T>.ToSpec)
        {
            if (name.SequenceEqual(spec))
                return value;
        }

        return null;
    }

    private static class Utf8Names<T>
        where T : struct, Enum
    {
        public static readonly Dictionary<T, byte[]> ToSpec = Names<T>.ToSpec.ToDictionary(p => p.Key, p => System.Text.Encoding.UTF8.GetBytes(p.Value));
    }
}

using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Platform.Api.Http;

/// <summary>
/// Checks parameters (path, query, header) against the limits openapi.yaml gives them: maxLength and
/// pattern for strings, minimum and maximum for integers. Called by the generated route table, so the spec's limits are the server's limits.
/// </summary>
public static class SpecParameter
{
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    public static string? Check(string? value, string name, int? maxLength, string? pattern)
    {
        if (value is null)
            return null;
        if (value.Contains('\0', StringComparison.Ordinal))
            throw new BadHttpRequestException($"Parameter '{name}' must not contain NUL (U+0000) characters.");
        if (maxLength is { } max && value.Length > max)
            throw new BadHttpRequestException($"Parameter '{name}' may be at most {max} characters; got {value.Length}.");
        // Linear in the value (bounded by maxLength), with no match timeout: a timeout measures the machine's load, not
        // the input, and under load it turned a valid request into a 500 (RegexMatchTimeoutException).
        if (pattern is not null && !Patterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking)).IsMatch(value))
            throw new BadHttpRequestException($"Parameter '{name}' must match {pattern}; got '{value}'.");
        return value;
    }

    /// <summary>A time parameter in UTC, inside the range every time in the API must lie in (<see cref="Rfc3339.IsInRange"/>).</summary>
    public static DateTimeOffset? CheckTime(DateTimeOffset? value, string name)
    {
        if (value is { } time && !Rfc3339.IsInRange(time))
            throw new BadHttpRequestException($"Parameter '{name}' must be between {Rfc3339.RangeText}.");
        return value?.ToUniversalTime();
    }

    public static int CheckRange(int value, string name, long? minimum, long? maximum) =>
        CheckRange((int?)value, name, minimum, maximum)!.Value;

    public static int? CheckRange(int? value, string name, long? minimum, long? maximum)
    {
        if (value is { } v && (v < minimum || v > maximum))
            throw new BadHttpRequestException($"Parameter '{name}' must be between {minimum?.ToString() ?? "-inf"} and {maximum?.ToString() ?? "inf"}; got {v}.");
        return value;
    }
}

using System.Reflection;
using System.Text.Json.Serialization;

namespace Platform.Contracts;

/// <summary>
/// An enum of the contract by the names openapi.yaml gives its values (<c>data-exfiltration</c>, not
/// <c>DataExfiltration</c>), read once from the generated enum's attributes: what the cli's options take, what its
/// tables and the console's pages show, and what the telemetry writer writes.
/// </summary>
public static class SpecNames<TEnum> where TEnum : struct, Enum
{
    private static readonly Dictionary<TEnum, string> Names = Enum.GetValues<TEnum>().ToDictionary(
        v => v,
        v => typeof(TEnum).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? v.ToString());

    public static IReadOnlyCollection<string> All => Names.Values;

    public static string Name(TEnum value) => Names[value];

    /// <summary>The value named (case-insensitively), as a person types it.</summary>
    public static bool TryParse(string? text, out TEnum value)
    {
        foreach (var (candidate, name) in Names)
        {
            if (string.Equals(name, text?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }
}

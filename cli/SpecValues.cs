using System.CommandLine.Parsing;
using System.Reflection;
using System.Runtime.Serialization;

namespace Platform.Cli;

/// <summary>
/// An enum of the contract by the names openapi.yaml gives its values (<c>data-exfiltration</c>, not
/// <c>DataExfiltration</c>): how options take them and how tables show them.
/// </summary>
public static class SpecValues<TEnum> where TEnum : struct, Enum
{
    private static readonly Dictionary<TEnum, string> Names = Enum.GetValues<TEnum>().ToDictionary(
        v => v,
        v => typeof(TEnum).GetField(v.ToString())!.GetCustomAttribute<EnumMemberAttribute>()?.Value ?? v.ToString());

    public static IReadOnlyCollection<string> All => Names.Values;

    public static string Name(TEnum value) => Names[value];

    public static bool TryParse(string text, out TEnum value)
    {
        foreach (var (candidate, name) in Names)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>An option taking one or more values, repeated (<c>--status open --status acknowledged</c>) or comma-separated.</summary>
    public static Option<TEnum[]> Many(string name, string description) => new(name)
    {
        Description = $"{description} ({string.Join(", ", All)}); repeat or separate with commas.",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
        HelpName = "value",
        CustomParser = result => result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(text => Parse(result, name, text)).Distinct().ToArray(),
    };

    public static Option<TEnum?> One(string name, string description) => new(name)
    {
        Description = $"{description} ({string.Join(", ", All)}).",
        HelpName = "value",
        CustomParser = result => Parse(result, name, result.Tokens[^1].Value),
    };

    private static TEnum Parse(ArgumentResult result, string option, string text)
    {
        if (TryParse(text, out var value))
            return value;
        result.AddError($"{option} is one of {string.Join(", ", All)}, not '{text}'.");
        return default;
    }
}

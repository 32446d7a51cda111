using System.CommandLine.Parsing;
using Platform.Contracts;

namespace Platform.Cli;

/// <summary>An enum of the contract by its names in openapi.yaml (<see cref="SpecNames{TEnum}"/>), as options take them.</summary>
public static class SpecValues<TEnum> where TEnum : struct, Enum
{
    public static IReadOnlyCollection<string> All => SpecNames<TEnum>.All;

    public static string Name(TEnum value) => SpecNames<TEnum>.Name(value);

    public static bool TryParse(string text, out TEnum value) => SpecNames<TEnum>.TryParse(text, out value);

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

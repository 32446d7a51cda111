using System.Text.Json.Serialization;
using Platform.Api.Http;

namespace Platform.Cli.Fim;

/// <summary>
/// A rules file (YAML or JSON: the whole desired rule set) read as the API reads it (the same YAML conversion), and
/// stricter: a field the contract does not know is an error here, so a misspelt key is not silently dropped
/// before the API could refuse it.
/// </summary>
public static class RuleSetFile
{
    private static readonly JsonSerializerOptions Strict = new(PlatformClient.SerializerOptions)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static FimRuleSet Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read {path}: {ex.Message}", ExitCodes.Usage);
        }

        try
        {
            var json = text.TrimStart().StartsWith('{') ? System.Text.Encoding.UTF8.GetBytes(text) : YamlJson.ToJson(text);
            var ruleSet = JsonSerializer.Deserialize<FimRuleSet>(json, Strict);
            if (ruleSet?.Rules is null)
                throw new CliException($"{path} is not a rule set: it needs a 'rules' list.");
            var duplicate = ruleSet.Rules.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new CliException($"{path}: the rule name '{duplicate.Key}' is used {duplicate.Count()} times; names identify rules.");
            return ruleSet;
        }
        catch (FormatException ex)
        {
            throw new CliException($"{path}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            var message = ex.Message.Split(" Path:")[0];
            throw new CliException($"{path} is not a rule set: at {(ex.Path ?? "$").TrimStart('$', '.')}: {message}");
        }
    }
}

namespace Platform.Cli;

/// <summary>Options every command takes (before or after the command's name).</summary>
public static class GlobalOptions
{
    public static readonly Option<string?> Server = new("--server")
    {
        Description = "The API's address, e.g. https://platform.example.com (default: PLATFORM_SERVER, then the profile's).",
        Recursive = true,
    };

    public static readonly Option<string?> Profile = new("--profile")
    {
        Description = "The saved profile to use (default: PLATFORM_PROFILE, then the one 'profile use' chose).",
        Recursive = true,
    };

    public static readonly Option<FileInfo?> TokenFile = new("--token-file")
    {
        Description = "A file holding the API token (default: PLATFORM_TOKEN, PLATFORM_TOKEN_FILE, then the profile's).",
        Recursive = true,
    };

    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "table (for people) or json (for scripts: one document, or one line per item when following).",
        Recursive = true,
        HelpName = "table|json",
        DefaultValueFactory = _ => OutputFormat.Table,
        CustomParser = result => result.Tokens[^1].Value.ToLowerInvariant() switch
        {
            "table" => OutputFormat.Table,
            "json" => OutputFormat.Json,
            var other => Fail(result, $"--output is table or json, not '{other}'."),
        },
    };

    public static IEnumerable<Option> All => [Server, Profile, TokenFile, Output];

    private static OutputFormat Fail(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}

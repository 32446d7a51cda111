using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Platform.Cli;

/// <summary><c>config.json</c> in the configuration directory: the profiles and which one is in use.</summary>
public sealed partial class CliConfig
{
    public const string DefaultProfile = "default";

    public string? Current { get; set; }

    public SortedDictionary<string, ProfileSettings> Profiles { get; set; } = new(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>A profile's name becomes a file name (its saved token): letters, digits, '.', '_' and '-' only.</summary>
    public static string CheckProfileName(string name) =>
        ProfileNamePattern().IsMatch(name) && name is not ("." or "..")
            ? name
            : throw new CliException($"'{name}' is not a profile name: use letters, digits, '.', '_' and '-' (at most 64).", ExitCodes.Usage);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ProfileNamePattern();

    public static string PathIn(string directory) => System.IO.Path.Combine(directory, "config.json");

    public static CliConfig Load(string directory)
    {
        var path = PathIn(directory);
        if (!File.Exists(path))
            return new CliConfig();
        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path), Json) ?? new CliConfig();
        }
        catch (JsonException ex)
        {
            throw new CliException($"{path} is not a platformctl configuration ({ex.Message}); fix or delete it.", ExitCodes.Usage);
        }
    }

    public void Save(string directory)
    {
        CreatePrivateDirectory(directory);
        var path = PathIn(directory);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Writes a token where only this user can read it (mode 0600, in a 0700 directory).</summary>
    public static string SaveToken(string directory, string profile, string token)
    {
        var tokens = System.IO.Path.Combine(directory, "tokens");
        CreatePrivateDirectory(directory);
        CreatePrivateDirectory(tokens);
        var path = System.IO.Path.Combine(tokens, profile);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new StreamWriter(path, System.Text.Encoding.UTF8, options))
            file.Write(token);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static void CreatePrivateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory);
        else
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}

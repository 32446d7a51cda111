using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Platform.Contracts;

namespace Platform.Cli;

/// <summary>
/// Which API and which token a command uses. The first of these that is set wins:
/// server: <c>--server</c>, <c>PLATFORM_SERVER</c>, the profile's server;
/// token: <c>--token-file</c>, <c>PLATFORM_TOKEN</c>, <c>PLATFORM_TOKEN_FILE</c>, the profile's token (saved by <c>login</c>);
/// profile: <c>--profile</c>, <c>PLATFORM_PROFILE</c>, the one <c>profile use</c> chose, <c>default</c>.
/// There is no <c>--token</c>: a secret on the command line ends up in shell history and process lists.
/// </summary>
public sealed record Connection(Uri Server, string Token, string Profile)
{
    public PlatformClient Client(CliHost host)
    {
        var http = new HttpClient(host.Handler?.Invoke() ?? new SocketsHttpHandler(), disposeHandler: true)
        {
            BaseAddress = Server,
            // Bundles and exports stream for as long as they take; a stalled connection is caught by the read itself.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("platformctl", typeof(Connection).Assembly.GetName().Version?.ToString(3) ?? "1.0.0"));
        return new PlatformClient(http);
    }

    public static Uri ParseServer(string value)
    {
        if (!Uri.TryCreate(value.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException($"'{value}' is not a server address: give http(s)://host[:port].", ExitCodes.Usage);
        return uri;
    }
}

/// <summary><c>config.json</c> in the configuration directory: the profiles and which one is in use.</summary>
public sealed class CliConfig
{
    public const string DefaultProfile = "default";

    public string? Current { get; set; }

    public SortedDictionary<string, ProfileSettings> Profiles { get; set; } = new(StringComparer.Ordinal);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

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

public sealed class ProfileSettings
{
    public string? Server { get; set; }

    /// <summary>The file holding the token: the one <c>login</c> wrote, or one the user keeps elsewhere.</summary>
    public string? TokenFile { get; set; }
}

using System.Net.Http.Headers;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
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
    /// <summary>Failed requests tried again at most this many times (safe and idempotent methods only).</summary>
    public const int Retries = 3;

    public PlatformClient Client(CliHost host)
    {
        var transport = new ResilienceHandler(RetryPipeline(host)) { InnerHandler = host.Handler?.Invoke() ?? new SocketsHttpHandler() };
        var http = new HttpClient(transport, disposeHandler: true)
        {
            BaseAddress = Server,
            // Bundles and exports stream for as long as they take; a stalled connection is caught by the read itself.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("platformctl", typeof(Connection).Assembly.GetName().Version?.ToString(3) ?? "1.0.0"));
        return new PlatformClient(http);
    }

    /// <summary>
    /// A dropped connection, a timeout, 429 or a 5xx is tried again (Retry-After honoured), but only for GET, HEAD, PUT
    /// and DELETE: a POST (a new token, a status change) is not sent twice behind the user's back.
    /// </summary>
    private static ResiliencePipeline<HttpResponseMessage> RetryPipeline(CliHost host)
    {
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Retries,
            Delay = host.RetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            OnRetry = arguments =>
            {
                var what = arguments.Outcome.Exception?.Message ?? $"HTTP {(int)arguments.Outcome.Result!.StatusCode}";
                host.Error.WriteLine($"the API did not answer ({what}); trying again in {arguments.RetryDelay.TotalSeconds:0.#} s ({arguments.AttemptNumber + 1} of {Retries})");
                return default;
            },
        };
        retry.DisableFor(HttpMethod.Post, HttpMethod.Patch);
        return new ResiliencePipelineBuilder<HttpResponseMessage>().AddRetry(retry).Build();
    }

    public static Uri ParseServer(string value)
    {
        if (!Uri.TryCreate(value.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException($"'{value}' is not a server address: give http(s)://host[:port].", ExitCodes.Usage);
        return uri;
    }
}

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

public sealed class ProfileSettings
{
    public string? Server { get; set; }

    /// <summary>The file holding the token: the one <c>login</c> wrote, or one the user keeps elsewhere.</summary>
    public string? TokenFile { get; set; }
}

namespace Platform.Cli;

/// <summary>One command being carried out: its parsed line, the host, the output format and the API connection.</summary>
public sealed class Invocation(ParseResult parsed, CliHost host)
{
    public CliHost Host { get; } = host;

    /// <summary>The API's JSON answers as they came (kept with <c>-o json</c> only, where they are what is printed).</summary>
    private readonly ApiAnswers _answers = new();

    public Output Output => _output ??= new(Host, parsed.GetValue(GlobalOptions.Output), _answers);

    private Output? _output;

    public T? Get<T>(Option<T> option) => parsed.GetValue(option);

    public T? Get<T>(Argument<T> argument) => parsed.GetValue(argument);

    private Connection? _connection;

    public Connection Connection => _connection ??= Resolve();

    public PlatformClient Client() => Connection.Client(Host, Output.Json ? _answers : null);

    private CliConfig? _config;

    /// <summary>The profiles (config.json), read once per command.</summary>
    public CliConfig Config => _config ??= CliConfig.Load(Host.ConfigDirectory);

    public string ProfileName => CliConfig.CheckProfileName(
        parsed.GetValue(GlobalOptions.Profile) ?? NonEmpty(Host.Environment("PLATFORM_PROFILE")) ?? Config.Current ?? CliConfig.DefaultProfile);

    /// <summary>The server: <c>--server</c>, <c>PLATFORM_SERVER</c>, then the profile's; null when none is set.</summary>
    public string? Server(ProfileSettings? profile) =>
        parsed.GetValue(GlobalOptions.Server) ?? NonEmpty(Host.Environment("PLATFORM_SERVER")) ?? profile?.Server;

    private Connection Resolve()
    {
        var profileName = ProfileName;
        var profile = Config.Profiles.GetValueOrDefault(profileName);
        var server = Server(profile)
            ?? throw new CliException(
                "no server: give --server, set PLATFORM_SERVER, or run 'platformctl login --server URL'.", ExitCodes.Usage);
        var token = TokenFromFile(parsed.GetValue(GlobalOptions.TokenFile)?.FullName, "--token-file")
            ?? NonEmpty(Host.Environment("PLATFORM_TOKEN"))
            ?? TokenFromFile(NonEmpty(Host.Environment("PLATFORM_TOKEN_FILE")), "PLATFORM_TOKEN_FILE")
            ?? TokenFromFile(profile?.TokenFile, $"profile '{profileName}'")
            ?? throw new CliException(
                "no token: give --token-file, set PLATFORM_TOKEN or PLATFORM_TOKEN_FILE, or run 'platformctl login'.", ExitCodes.Usage);
        return new Connection(Connection.ParseServer(server), token, profileName);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    internal static string? TokenFromFile(string? path, string from)
    {
        if (path is null)
            return null;
        try
        {
            return NonEmpty(File.ReadAllText(path).Trim())
                ?? throw new CliException($"the token file {path} ({from}) is empty.", ExitCodes.Usage);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the token file {path} ({from}): {ex.Message}", ExitCodes.Usage);
        }
    }
}

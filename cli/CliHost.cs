namespace Platform.Cli;

/// <summary>
/// What one run of platformctl talks to: its streams, its environment, where its profiles live and how it reaches
/// the API. <see cref="FromProcess"/> is the real process; tests give their own streams and the in-process API's
/// handler, and run the same commands.
/// </summary>
public sealed class CliHost
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Reads an environment variable (PLATFORM_SERVER, PLATFORM_TOKEN, ...).</summary>
    public required Func<string, string?> Environment { get; init; }

    /// <summary>Where <c>config.json</c> (profiles) and the tokens saved by <c>login</c> are kept.</summary>
    public required string ConfigDirectory { get; init; }

    /// <summary>The transport to the API; null: a new <see cref="SocketsHttpHandler"/>.</summary>
    public Func<HttpMessageHandler>? Handler { get; init; }

    /// <summary>Standard output is a terminal: progress bars and colour. Pipelines and files get plain lines.</summary>
    public bool Interactive { get; init; }

    /// <summary>How long <c>incidents watch</c> waits between polls when none is given.</summary>
    public TimeSpan DefaultPollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first wait before a failed request is tried again (then doubled, with jitter; Retry-After wins).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public static CliHost FromProcess()
    {
        var configHome = System.Environment.GetEnvironmentVariable("PLATFORMCTL_CONFIG_DIR")
            ?? Path.Combine(
                System.Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
                    ? xdg
                    : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".config"),
                "platformctl");
        return new CliHost
        {
            Out = Console.Out,
            Error = Console.Error,
            In = Console.In,
            Environment = System.Environment.GetEnvironmentVariable,
            ConfigDirectory = configHome,
            Interactive = !Console.IsOutputRedirected && System.Environment.GetEnvironmentVariable("CI") is null,
        };
    }
}

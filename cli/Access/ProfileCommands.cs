namespace Platform.Cli.Access;

/// <summary><c>login</c>, <c>logout</c> and <c>profile list|use</c>: which API and token the other commands use.</summary>
public static class ProfileCommands
{
    private static readonly Option<bool> TokenStdin = new("--token-stdin")
    {
        Description = "Read the token from standard input (e.g. from a vault: vault read -field=token ... | platformctl login --token-stdin).",
    };

    public static Command Login(CliHost host) =>
        new Command("login", "Check a server and token and save them as a profile (the token in a file only you can read).")
            .With(TokenStdin)
            .Does(host, async (run, cancellationToken) =>
            {
                var profileName = run.ProfileName;
                var config = run.Config;
                var server = run.Server(config.Profiles.GetValueOrDefault(profileName))
                    ?? throw new CliException("login needs --server URL (or PLATFORM_SERVER).", ExitCodes.Usage);
                var tokenFile = run.Get(GlobalOptions.TokenFile)?.FullName;
                string? token = null;
                if (run.Get(TokenStdin))
                    token = (await host.In.ReadToEndAsync(cancellationToken)).Trim();
                else if (tokenFile is null)
                    token = host.Environment("PLATFORM_TOKEN");
                if (tokenFile is null && string.IsNullOrWhiteSpace(token))
                    throw new CliException("login needs a token: --token-stdin, --token-file PATH or PLATFORM_TOKEN.", ExitCodes.Usage);
                var uri = Connection.ParseServer(server);
                var check = new Connection(uri, Invocation.TokenFromFile(tokenFile, "--token-file") ?? token!, profileName);

                // Any person's token may list rules: this proves the address and the token before anything is saved.
                await check.Client(host).ListFimRulesAsync(limit: 1, cancellationToken: cancellationToken);

                config.Profiles[profileName] = new ProfileSettings
                {
                    Server = uri.ToString().TrimEnd('/'),
                    TokenFile = tokenFile ?? CliConfig.SaveToken(host.ConfigDirectory, profileName, token!),
                };
                config.Current = profileName;
                config.Save(host.ConfigDirectory);
                await host.Error.WriteLineAsync($"logged in to {uri} as profile '{profileName}' (token in {config.Profiles[profileName].TokenFile})");
                return ExitCodes.Ok;
            });

    public static Command Logout(CliHost host) =>
        new Command("logout", "Forget a profile and delete the token login saved for it.")
            .Does(host, async (run, _) =>
            {
                var profileName = run.ProfileName;
                var config = run.Config;
                if (!config.Profiles.Remove(profileName, out var profile))
                    throw new CliException($"there is no profile '{profileName}'.");
                var savedTokens = Path.GetFullPath(Path.Combine(host.ConfigDirectory, "tokens"));
                if (profile.TokenFile is { } file && Path.GetFullPath(file).StartsWith(savedTokens + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    File.Delete(file);
                if (config.Current == profileName)
                    config.Current = null;
                config.Save(host.ConfigDirectory);
                await host.Error.WriteLineAsync($"logged out of profile '{profileName}'");
                return ExitCodes.Ok;
            });

    public static Command Profile(CliHost host)
    {
        var name = new Argument<string>("name") { Description = "The profile to use from now on." };
        return new Command("profile", "The saved profiles.")
            .With(
                new Command("list", "The profiles, their servers and where their tokens are.").Does(host, (run, _) =>
                {
                    var config = run.Config;
                    var current = config.Current ?? CliConfig.DefaultProfile;
                    run.Output.Table(
                        config.Profiles.Select(p => (Name: p.Key, p.Value)).ToList(),
                        ("", p => p.Name == current ? "*" : ""),
                        ("name", p => p.Name),
                        ("server", p => p.Value.Server),
                        ("token file", p => p.Value.TokenFile));
                    return Task.FromResult(ExitCodes.Ok);
                }),
                new Command("use", "Make a profile the one commands use.").With(name).Does(host, async (run, _) =>
                {
                    var config = run.Config;
                    var chosen = run.Get(name)!;
                    if (!config.Profiles.ContainsKey(chosen))
                        throw new CliException($"there is no profile '{chosen}' (platformctl profile list).", ExitCodes.Usage);
                    config.Current = chosen;
                    config.Save(host.ConfigDirectory);
                    await host.Error.WriteLineAsync($"using profile '{chosen}'");
                    return ExitCodes.Ok;
                }));
    }
}

using Platform.Bundles;
using Platform.Cli.Agents;
using Spectre.Console;

namespace Platform.Cli.Forensics;

/// <summary>
/// <c>bundle download</c>: a forensic bundle to a file, resumed where it stopped when the connection drops (in the
/// same run, up to <c>--retries</c> times, or by running the command again), then verified against its manifest;
/// <c>bundle verify FILE</c>: the check alone.
/// </summary>
public static class BundleCommands
{
    public static Command Bundle(CliHost host) =>
        new Command("bundle", "Forensic bundles: everything kept about an incident, a host or a container, as one verified zip.")
            .With(Download(host), Verify(host));

    private static Option<FileInfo?> PublicKeyOption() => new("--public-key")
    {
        Description = "Trust this Ed25519 public key (PEM) for the bundle's signature instead of fetching the api's (GET /api/v1/signing-keys).",
    };

    private static Command Verify(CliHost host)
    {
        var file = new Argument<FileInfo>("file") { Description = "The bundle (.zip)." };
        var publicKey = PublicKeyOption();
        return new Command("verify", "Check a bundle: its manifest signed by a trusted key (--public-key, else the api's), every entry there with its size and SHA-256, nothing else; exit 1 if not.")
            .With(file, publicKey)
            .Does(host, async (run, cancellationToken) =>
            {
                var path = run.Get(file)!;
                if (!path.Exists)
                    throw new CliException($"{path.FullName} does not exist.", ExitCodes.Usage);
                var trusted = await TrustedAsync(run, run.Get(publicKey), cancellationToken);
                return await ReportAsync(run, path.FullName, BundleVerifier.Verify(path.FullName, trusted)) ? ExitCodes.Ok : ExitCodes.Error;
            });
    }

    /// <summary>The keys a bundle's signature may be by: the one given, or those the api serves (never the one the bundle carries).</summary>
    private static async Task<IReadOnlyCollection<TrustedKey>> TrustedAsync(Invocation run, FileInfo? publicKey, CancellationToken cancellationToken)
    {
        if (publicKey is not null)
        {
            if (!publicKey.Exists)
                throw new CliException($"--public-key: {publicKey.FullName} does not exist.", ExitCodes.Usage);
            var pem = await File.ReadAllTextAsync(publicKey.FullName, cancellationToken);
            return Trusted(() => [TrustedKey.FromPem(pem, "--public-key")], ExitCodes.Usage);
        }

        PlatformClient client;
        try
        {
            client = run.Client();
        }
        catch (CliException ex)
        {
            throw new CliException($"no trusted key to check the signature with: give --public-key FILE, or an api to fetch it from ({ex.Message})", ExitCodes.Usage);
        }

        var keys = await client.ListSigningKeysAsync(cancellationToken);
        return Trusted(() => TrustedKey.FromApi(keys), ExitCodes.Error);
    }

    private static IReadOnlyCollection<TrustedKey> Trusted(Func<IReadOnlyCollection<TrustedKey>> read, int exitCode)
    {
        try
        {
            return read();
        }
        catch (FormatException ex)
        {
            throw new CliException(ex.Message, exitCode);
        }
    }

    private static async Task<bool> ReportAsync(Invocation run, string path, BundleVerifier.Result result)
    {
        if (run.Output.Json)
            run.Output.Document(new { file = path, verified = result.Verified, entries = result.Entries, events = result.Events, keyId = result.KeyId, state = result.State, problems = result.Problems });
        else if (result.Verified)
            run.Output.Text($"verified {path}: signed by key {result.KeyId}, {result.Entries} entries, {result.Events?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} events ({result.Resource})" + (result.State is { } state ? $", {state}" : ""));
        else
        {
            await run.Host.Error.WriteLineAsync($"error: {path} does not verify" + (result.KeyId is { } keyId ? $" (its manifest names signing key {keyId}):" : ":"));
            foreach (var problem in result.Problems)
                await run.Host.Error.WriteLineAsync("  " + problem);
        }

        return result.Verified;
    }

    private static Command Download(CliHost host)
    {
        var incident = new Option<string?>("--incident") { Description = "An incident's bundle (its flight data, findings and risk)." };
        var agent = new Option<string?>("--agent") { Description = "A host's bundle (its agent's id, or its host name), its containers included." };
        var container = new Option<string?>("--container") { Description = "A container's bundle: one container of the --agent (a container is one agent's)." };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Host and container bundles: from this time (RFC 3339; default: the oldest kept)." };
        var until = new Option<DateTimeOffset?>("--until") { Description = "Host and container bundles: until this time (RFC 3339; default: the newest)." };
        var outFile = new Option<FileInfo?>("--out", "-O") { Description = "Where to write it (default: <id>.zip here). While downloading: <out>.part." };
        var retries = new Option<int>("--retries")
        {
            Description = "Resume this many times when the connection drops (default 5; 0: stop, and resume by running the command again).",
            DefaultValueFactory = _ => 5,
        };
        var publicKey = PublicKeyOption();
        var command = new Command("download", "Download a bundle with progress, resume an interrupted download, verify its signature and its manifest.")
            .With(incident, agent, container, from, until, outFile, retries, publicKey);
        command.Validators.Add(result =>
        {
            if (ResourceOptions.Problem(result.GetValue(incident), result.GetValue(agent), result.GetValue(container)) is { } problem)
                result.AddError(problem);
            if (result.GetValue(incident) is not null && (result.GetValue(from) is not null || result.GetValue(until) is not null))
                result.AddError("--from and --until are for --agent and --container: an incident's bundle covers the incident.");
            if (result.GetValue(retries) < 0)
                result.AddError("--retries must be 0 or more.");
        });
        return command.Does(host, async (run, cancellationToken) =>
        {
            var client = run.Client();
            var agentId = run.Get(agent) is { } given ? await AgentCommands.IdAsync(client, given, cancellationToken) : null;
            // A large bundle is built by the api in the background (202): the window it pins is asked for from then on.
            var (windowFrom, windowUntil) = (run.Get(from), run.Get(until));
            var (id, fetch) = (run.Get(incident), agentId, run.Get(container)) switch
            {
                ({ } i, _, _) => (i, (Func<string?, string?, Task<FileResponse>>)((range, ifRange) => client.GetIncidentBundleAsync(i, null, range, ifRange, cancellationToken))),
                (_, { } a, { } c) => (c, (range, ifRange) => client.GetContainerForensicBundleAsync(a, c, windowFrom, windowUntil, null, range, ifRange, cancellationToken)),
                (_, { } a, _) => (a, (range, ifRange) => client.GetHostForensicBundleAsync(a, windowFrom, windowUntil, null, range, ifRange, cancellationToken)),
                _ => throw new CliException("give one of --incident, --agent, or --agent with --container.", ExitCodes.Usage),
            };
            var target = run.Get(outFile)?.FullName ?? Path.GetFullPath(id + ".zip");
            var download = new ResumableDownload(target, run.Host, run.Get(retries));
            await download.RunAsync(fetch, cancellationToken, location =>
            {
                var query = System.Web.HttpUtility.ParseQueryString(new Uri(new Uri("http://api"), location).Query);
                if (query["from"] is { } pinnedFrom && query["until"] is { } pinnedUntil)
                    (windowFrom, windowUntil) = (DateTimeOffset.Parse(pinnedFrom, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.Parse(pinnedUntil, System.Globalization.CultureInfo.InvariantCulture));
            });

            var result = BundleVerifier.Verify(download.PartPath, await TrustedAsync(run, run.Get(publicKey), cancellationToken));
            if (!result.Verified)
            {
                // A bundle that does not match its manifest is not kept: the next run downloads it whole.
                download.Discard();
                await ReportAsync(run, target, result);
                return ExitCodes.Error;
            }

            download.Complete();
            await ReportAsync(run, target, result);
            return ExitCodes.Ok;
        });
    }
}

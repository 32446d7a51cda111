using System.Diagnostics;
using Platform.Tests.Enforcement;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Packaging;

/// <summary>
/// The packages, made once per run by packaging/build-packages.sh (what <c>dotnet cake --target=Package</c> runs) in the
/// tests' configuration, so the agent's native publish reuses the build's. Installing them needs root and dpkg: where
/// they are missing the tests skip, except under CI, where they fail.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PackagesFixture : IAsyncLifetime
{
    public const string Package = "platform-agent";

    /// <summary>Why packages cannot be installed here, or null.</summary>
    public string? Missing { get; private set; }

    public string Output { get; } = Directory.CreateTempSubdirectory("packages-").FullName;

    public string Deb { get; private set; } = "";

    public string ApiTarball { get; private set; } = "";

    /// <summary>How long the script took (the agent's and the api's publish included).</summary>
    public TimeSpan BuildTime { get; private set; }

    public async Task InitializeAsync()
    {
        Missing = Environment.UserName != "root" ? "dpkg -i needs root"
            : !File.Exists("/usr/bin/dpkg") || !File.Exists("/usr/bin/dpkg-deb") ? "dpkg and dpkg-deb are not installed"
            : null;
        if (Missing is not null)
            return;
        Purge(); // what an interrupted run left installed
        // Not the package's (it is purged): an agent installed by hand keeps its credential here, which the test must
        // neither use nor delete.
        foreach (var path in new[] { "/var/lib/platform-agent", "/etc/platform-agent" }.Where(Directory.Exists))
            throw new InvalidOperationException($"{path} exists without the {Package} package: move it away before the packaging tests run.");

        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        var script = new ProcessStartInfo("bash", [Path.Combine(Repository.Root, "packaging", "build-packages.sh"), "--configuration", configuration, "--output", Output])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var clock = Stopwatch.StartNew();
        using var build = Process.Start(script)!;
        var output = build.StandardOutput.ReadToEndAsync();
        var errors = await build.StandardError.ReadToEndAsync();
        using (var patience = new CancellationTokenSource(TimeSpan.FromMinutes(15)))
            await build.WaitForExitAsync(patience.Token);
        BuildTime = clock.Elapsed;
        var made = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (build.ExitCode != 0 || made.Length != 2)
            throw new InvalidOperationException($"packaging/build-packages.sh failed (exit code {build.ExitCode}):\n{string.Join('\n', made)}\n{errors}");
        (Deb, ApiTarball) = (made[0], made[1]);
    }

    /// <summary>Removes the package with everything it made, if it is installed (also after a failed test).</summary>
    public static void Purge()
    {
        if (Shell.Run("dpkg-query", "-W", "-f=${db:Status-Status}", Package) is { ExitCode: 0, Output: var status } && status.Trim() != "not-installed")
            Shell.Run("dpkg", "--purge", Package).Succeeded("dpkg --purge " + Package);
    }

    public Task DisposeAsync()
    {
        if (Missing is null)
            Purge();
        Directory.Delete(Output, recursive: true);
        return Task.CompletedTask;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Platform.Contracts;
using Platform.Tests.Enforcement;
using Platform.Tests.Infrastructure;
using Xunit.Abstractions;

using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Packaging;

/// <summary>
/// Issue 24's packaging, as an administrator meets it: the agent's Debian package installed with <c>dpkg -i</c> on this
/// machine, its settings and token written where the package says, the installed agent run as its unit runs it (the unit's
/// command line, environment file and capabilities; systemd itself need not run here) against the api from the tarball,
/// then removed (settings and state kept) and purged (nothing left).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DebianPackageTests(PackagesFixture packages, ITestOutputHelper log) : IClassFixture<PackagesFixture>, IDisposable
{
    private const string Unit = "/lib/systemd/system/platform-agent.service";
    private const string Executable = "/usr/lib/platform-agent/Platform.Agent";
    private const string Settings = "/etc/platform-agent/agent.env";
    private const string TokenFile = "/etc/platform-agent/enroll-token";
    private const string State = "/var/lib/platform-agent";

    private readonly string _scratch = Directory.CreateTempSubdirectory("packaging-").FullName;

    public void Dispose()
    {
        PackagesFixture.Purge();
        Directory.Delete(_scratch, recursive: true);
    }

    private void RequireDpkg()
    {
        if (packages.Missing is { } missing)
        {
            if (PostgresCluster.InCi)
                throw new InvalidOperationException($"The packaging tests must run under CI: {missing}.");
            Skip.If(true, missing);
        }

        log.WriteLine($"packaging/build-packages.sh took {packages.BuildTime.TotalSeconds:F0} s");
    }

    [SkippableFact]
    public void The_packages_are_named_for_the_version_and_the_architecture_and_the_deb_is_owned_by_root()
    {
        RequireDpkg();
        var version = typeof(Platform.Agent.AgentOptions).Assembly.GetName().Version!.ToString(3);
        var (debArch, arch) = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? ("arm64", "arm64") : ("amd64", "x64");

        Assert.Equal($"platform-agent_{version}_{debArch}.deb", Path.GetFileName(packages.Deb));
        Assert.Equal($"platform-api-{version}-linux-{arch}.tar.gz", Path.GetFileName(packages.ApiTarball));
        var fields = Shell.Run("dpkg-deb", "--field", packages.Deb, "Package", "Version", "Architecture").Succeeded("dpkg-deb --field").Output;
        Assert.Equal(["Package: platform-agent", $"Version: {version}", $"Architecture: {debArch}"], fields.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var contents = Shell.Run("dpkg-deb", "--contents", packages.Deb).Succeeded("dpkg-deb --contents").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(contents, entry => Assert.Contains(" root/root ", entry));
        Assert.Contains(contents, entry => entry.StartsWith("-rw------- ", StringComparison.Ordinal) && entry.EndsWith("./etc/platform-agent/agent.env", StringComparison.Ordinal));
        Assert.Contains(contents, entry => entry.StartsWith("-rwxr-xr-x ", StringComparison.Ordinal) && entry.EndsWith("." + Executable, StringComparison.Ordinal));
        Assert.DoesNotContain(contents, entry => entry.Contains(".dbg", StringComparison.Ordinal) || entry.Contains(".pdb", StringComparison.Ordinal));

        if (File.Exists("/usr/bin/lintian"))
        {
            var lintian = Shell.Run("lintian", "--fail-on", "error", packages.Deb);
            Assert.True(lintian.ExitCode == 0, lintian.Output);
        }
    }

    [SkippableFact]
    public void The_api_tarball_is_self_contained_with_its_unit_settings_and_install_note()
    {
        RequireDpkg();
        var top = Path.GetFileName(packages.ApiTarball)[..^".tar.gz".Length];
        var listing = Shell.Run("tar", "-tzvf", packages.ApiTarball).Succeeded("tar -t").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(listing, entry => Assert.Contains($" root/root ", entry));
        Assert.All(listing, entry => Assert.Contains($" {top}/", entry));
        string Mode(string path) => listing.Single(entry => entry.EndsWith($" {top}/{path}", StringComparison.Ordinal))[..10];
        Assert.Equal("-rwxr-xr-x", Mode("lib/Platform.Api"));
        Assert.Equal("-rw-------", Mode("api.env"));
        Assert.Equal("-rw-r--r--", Mode("platform-api.service"));
        Assert.Equal("-rw-r--r--", Mode("INSTALL.md"));

        Shell.Run("tar", "-xzf", packages.ApiTarball, "-C", _scratch).Succeeded("tar -x");
        var lib = Path.Combine(_scratch, top, "lib");
        Assert.True(File.Exists(Path.Combine(lib, "libcoreclr.so")), "the runtime is not in the tarball");
        using var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(lib, "Platform.Api.runtimeconfig.json")));
        var options = runtimeConfig.RootElement.GetProperty("runtimeOptions");
        Assert.True(options.TryGetProperty("includedFrameworks", out _) && !options.TryGetProperty("framework", out _) && !options.TryGetProperty("frameworks", out _),
            "the api is published for the shared runtime: " + options);
        var unit = File.ReadAllText(Path.Combine(_scratch, top, "platform-api.service"));
        Assert.Contains("ExecStart=/opt/platform-api/lib/Platform.Api\n", unit);
        Assert.Contains("tar -xzf platform-api-", File.ReadAllText(Path.Combine(_scratch, top, "INSTALL.md")));
        VerifyUnit(Path.Combine(_scratch, top, "platform-api.service"), unit.Replace("/opt/platform-api", Path.Combine(_scratch, top), StringComparison.Ordinal));
    }

    /// <summary>
    /// The acceptance of issue 24 part 5: the Debian package installs, and the agent from it enrolls against the api (the
    /// tarball's) and delivers <c>simulate</c>'s data, with only its unit's capabilities, its token never on a command line.
    /// </summary>
    [SkippableFact]
    public async Task Installed_from_the_deb_the_agent_enrolls_delivers_simulate_and_removes_cleanly()
    {
        RequireDpkg();
        var clock = Stopwatch.StartNew();
        Shell.Run("dpkg", "-i", packages.Deb).Succeeded("dpkg -i");
        Assert.Equal("install ok installed", Shell.Run("dpkg-query", "-W", "-f=${Status}", PackagesFixture.Package).Succeeded("dpkg-query").Output);

        // What landed, with the modes the token and the state need.
        Assert.Equal("0:0:755", Owner(Executable));
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(Executable)!, "sensor.bpf.o")));
        Assert.Equal(Executable, Path.GetFullPath(new FileInfo("/usr/bin/platform-agent").LinkTarget!, "/usr/bin"));
        Assert.Equal(File.ReadAllText(Path.Combine(Repository.Root, "packaging", "agent", "platform-agent.service")), File.ReadAllText(Unit));
        Assert.Equal("0:0:600", Owner(Settings));
        Assert.Equal("0:0:600", Owner(TokenFile));
        Assert.Equal(0, new FileInfo(TokenFile).Length);
        Assert.Equal("0:0:700", Owner(State));
        VerifyUnit(Unit, null);
        var (unitArguments, unitCapabilities) = ServiceOf(File.ReadAllText(Unit));

        // An administrator's part: the api's address (and a name) in the settings, the token in its file.
        await using var api = await StartApiFromTarballAsync();
        using var http = api.Process.Http(api.AdminSecret);
        var admin = new PlatformClient(http);
        var hostname = "pkg-" + Guid.NewGuid().ToString("N")[..8];
        var rule = await admin.CreateFimRuleAsync(new FimRuleSpec
        {
            Name = "pkg-config-" + hostname, Severity = FimSeverity.High, Scope = new FimScope { Hostnames = [hostname] },
            Paths = [new FimPath { Path = "/srv/app", Recursive = true }], Operations = [FimOperation.Read, FimOperation.Write], Effect = FimEffect.Alert,
        });
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = hostname });
        var settings = File.ReadAllText(Settings);
        Assert.Contains("#Platform__Agent__Server=", settings);
        File.WriteAllText(Settings, settings.Replace("#Platform__Agent__Server=https://platform.example.com", $"Platform__Agent__Server={api.Address}", StringComparison.Ordinal)
            + $"Platform__Agent__Hostname={hostname}\n");
        File.WriteAllText(TokenFile, enrollment.Secret + "\n");
        Assert.Equal("0:0:600", Owner(TokenFile));
        Assert.DoesNotContain(enrollment.Secret, File.ReadAllText(Unit) + File.ReadAllText(Settings));

        // The unit's command line with simulate for run, its environment file, and nothing beyond its capabilities.
        string[] simulate = [.. unitArguments.Select(a => a == "run" ? "simulate" : a)];
        Assert.DoesNotContain(simulate, a => a.Contains(enrollment.Secret, StringComparison.Ordinal));
        var (exitCode, output) = await RunAsUnitAsync(simulate, unitCapabilities);
        Assert.True(exitCode == 0, string.Join('\n', output));
        Assert.DoesNotContain(output, line => line.Contains(enrollment.Secret, StringComparison.Ordinal));

        Assert.Equal("0:0:600", Owner(Path.Combine(State, "credential.json")));
        var agentId = JsonDocument.Parse(File.ReadAllText(Path.Combine(State, "credential.json"))).RootElement.GetProperty("AgentId").GetString()!;
        Assert.Equal(hostname, (await admin.GetAgentAsync(agentId)).Hostname);
        var started = (await admin.AllEvents(agentId)).OfType<ProcessStartEvent>().Select(e => e.ProcessName).ToHashSet();
        Assert.Superset(new HashSet<string?> { "java", "sh", "cp", "curl", "vi" }, started);
        var alerts = (await admin.ListFimAlertsAsync(agentId: agentId)).Items;
        Assert.Contains(alerts, a => (a.Process?.Name, a.Path, a.Action, a.RuleId) == ("vi", "/srv/app/application.cfg", FimOperation.Write, rule.Id));
        await UntilAsync(async () => (await admin.ListIncidentsAsync(agentId: agentId, category: [IncidentCategory.DataExfiltration])).Items.Count == 1, "the data exfiltration incident");

        // Enrolled, the agent needs the token no more: emptied, it delivers again as the same agent.
        File.WriteAllText(TokenFile, "");
        var (againExit, againOutput) = await RunAsUnitAsync([.. simulate, "--scenarios", "host-fim"], unitCapabilities);
        Assert.True(againExit == 0, string.Join('\n', againOutput));
        Assert.Single((await admin.ListAgentsAsync(hostname: hostname)).Items);

        // Remove: the program and its unit go, the settings, the token file and the state stay.
        Shell.Run("dpkg", "-r", PackagesFixture.Package).Succeeded("dpkg -r");
        Assert.Equal("deinstall ok config-files", Shell.Run("dpkg-query", "-W", "-f=${Status}", PackagesFixture.Package).Succeeded("dpkg-query").Output);
        Assert.False(File.Exists(Executable) || File.Exists(Unit) || File.Exists("/usr/bin/platform-agent") || Directory.Exists("/usr/lib/platform-agent"));
        Assert.True(File.Exists(Settings) && File.Exists(TokenFile) && File.Exists(Path.Combine(State, "credential.json")));

        // Purge: nothing left.
        Shell.Run("dpkg", "--purge", PackagesFixture.Package).Succeeded("dpkg --purge");
        Assert.NotEqual(0, Shell.Run("dpkg-query", "-W", PackagesFixture.Package).ExitCode);
        Assert.False(Directory.Exists("/etc/platform-agent") || Directory.Exists(State));
        log.WriteLine($"install, run, remove and purge took {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>The installed agent with the unit's arguments, environment file (and PATH, as systemd gives it) and capability bounding set.</summary>
    private async Task<(int ExitCode, IReadOnlyList<string> Output)> RunAsUnitAsync(string[] arguments, string capabilities)
    {
        var start = new ProcessStartInfo("/usr/bin/setpriv", ["--bounding-set", capabilities, "--", .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var line in File.ReadAllLines(Settings).Where(l => l.Length > 0 && l[0] != '#' && l.Contains('=')))
            start.Environment[line[..line.IndexOf('=')]] = line[(line.IndexOf('=') + 1)..];
        var output = new ConcurrentQueue<string>();
        using var agent = Process.Start(start)!;
        agent.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        agent.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        using (var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            await agent.WaitForExitAsync(patience.Token);
        agent.WaitForExit(); // the output's last lines
        foreach (var line in output)
            log.WriteLine("agent: " + line);
        return (agent.ExitCode, output.ToList());
    }

    /// <summary>ExecStart's words, and CapabilityBoundingSet as setpriv's --bounding-set (-all,+bpf,...).</summary>
    private static (string[] Arguments, string Capabilities) ServiceOf(string unit)
    {
        string Value(string key) => Assert.Single(unit.Split('\n'), l => l.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..];
        Assert.Equal(Settings, Value("EnvironmentFile"));
        var arguments = Value("ExecStart").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([Executable, "run", "--enroll-token-file", TokenFile, "--state-dir", State], arguments);
        var capabilities = Value("CapabilityBoundingSet").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(c => "+" + c["CAP_".Length..].ToLowerInvariant());
        return (arguments, string.Join(',', ["-all", .. capabilities]));
    }

    /// <summary><c>systemd-analyze verify</c>, where it is installed (it needs no running systemd); <paramref name="rewritten"/> replaces the file's text first.</summary>
    private void VerifyUnit(string path, string? rewritten)
    {
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            log.WriteLine("systemd-analyze is not installed: the unit is not verified");
            return;
        }

        if (rewritten is not null)
        {
            path = Path.Combine(_scratch, "verify", Path.GetFileName(path));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, rewritten);
        }

        var verify = Shell.Run("systemd-analyze", "verify", path);
        Assert.True(verify.ExitCode == 0 && !verify.Output.Contains(Path.GetFileName(path), StringComparison.Ordinal), "systemd-analyze verify " + path + ":\n" + verify.Output);
    }

    private static string Owner(string path) => Shell.Run("stat", "-c", "%u:%g:%a", path).Succeeded("stat " + path).Output.Trim();

    private sealed record TarballApi(ApiProcess Process, string AdminSecret, Uri Address) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>The api from the tarball (its Platform.Api executable, self-contained), on a loopback port for the agent.</summary>
    private async Task<TarballApi> StartApiFromTarballAsync()
    {
        var extracted = Path.Combine(_scratch, "api");
        Directory.CreateDirectory(extracted);
        Shell.Run("tar", "-xzf", packages.ApiTarball, "-C", extracted, "--strip-components=1").Succeeded("tar -x");
        var data = Directory.CreateDirectory(Path.Combine(_scratch, "api-data")).FullName;
        int port;
        using (var free = new TcpListener(IPAddress.Loopback, 0))
        {
            free.Start();
            port = ((IPEndPoint)free.LocalEndpoint).Port;
        }

        var address = new Uri($"http://127.0.0.1:{port}/");
        var secret = "pkg-admin-" + Guid.NewGuid().ToString("N");
        var process = await ApiProcess.StartAsync(data, secret, published: Path.Combine(extracted, "lib", "Platform.Api"), alsoOn: address);
        return new TarballApi(process, secret, address);
    }
}

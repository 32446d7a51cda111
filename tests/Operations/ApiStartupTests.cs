using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Operations;

/// <summary>
/// The api started as an operator starts it (its own process, the tests' build), with one mistake each: the start ends
/// with exit code 2 and one line on stderr naming the mistake (no stack trace), and nothing has been made: no database,
/// no first admin token printed or written.
/// </summary>
public sealed class ApiStartupTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("api-startup-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task A_port_in_use_is_one_line_and_no_admin_token_is_made()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var start = await StartAsync(new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });

        start.AssertRefusedInOneLine($"port {port} is in use");
        AssertNothingMade(start);
    }

    [Fact]
    public async Task A_malformed_connection_string_is_one_line_and_no_admin_token_is_made()
    {
        var start = await StartAsync(new()
        {
            ["Platform__Storage__Provider"] = "Postgres",
            ["Platform__Storage__ConnectionString"] = "this is not a connection string",
        });

        start.AssertRefusedInOneLine("Platform:Storage:ConnectionString is not an Npgsql connection string");
        AssertNothingMade(start);
    }

    [Fact]
    public async Task An_unreachable_postgres_is_one_line_and_no_admin_token_is_made()
    {
        // A Unix socket directory that does not exist: refused at once, and no server anyone runs is touched.
        var start = await StartAsync(new()
        {
            ["Platform__Storage__Provider"] = "Postgres",
            ["Platform__Storage__ConnectionString"] = $"Host={Path.Combine(_data, "no-postgres-here")};Username=platform;Database=platform",
        });

        start.AssertRefusedInOneLine("Platform:Storage:ConnectionString: PostgreSQL cannot be reached");
        AssertNothingMade(start);
    }

    [Fact]
    public async Task A_data_directory_that_cannot_be_made_is_one_line_and_no_admin_token_is_made()
    {
        // Under a file: no directory can be made there, for root either (the tests run as root in CI).
        var unusable = "/dev/null/platform-data";

        var start = await StartAsync(new() { ["Platform__DataDirectory"] = unusable });

        start.AssertRefusedInOneLine($"Platform:DataDirectory '{unusable}' cannot be used");
        Assert.DoesNotContain("admin token", start.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.False(Directory.Exists(unusable));
    }

    [Fact]
    public async Task Each_setting_that_cannot_work_is_one_line_naming_it_and_no_admin_token_is_made()
    {
        var start = await StartAsync(new()
        {
            ["Platform__Limits__MaxRequestBodyBytes"] = "0",
            ["Platform__Auth__CredentialCacheSeconds"] = "-1",
        });

        Assert.Equal(2, start.ExitCode);
        Assert.DoesNotContain("   at ", start.Stderr, StringComparison.Ordinal);
        Assert.Collection(start.StderrLines.Order(StringComparer.Ordinal),
            line => Assert.Contains("Platform:Auth:CredentialCacheSeconds must be 0 (off) or more.", line, StringComparison.Ordinal),
            line => Assert.Contains("Platform:Limits:MaxRequestBodyBytes must be more than 0.", line, StringComparison.Ordinal));
        AssertNothingMade(start);
    }

    [Fact]
    public async Task A_short_admin_token_is_one_line_and_nothing_is_made()
    {
        var start = await StartAsync(new() { ["PLATFORM_ADMIN_TOKEN"] = "too-short" });

        start.AssertRefusedInOneLine("PLATFORM_ADMIN_TOKEN must be at least 32 characters");
        AssertNothingMade(start);
    }

    [Fact]
    public async Task A_setting_that_is_not_a_number_is_one_line_naming_it()
    {
        var start = await StartAsync(new() { ["Platform__Fim__FoldWindowSeconds"] = "five minutes" });

        start.AssertRefusedInOneLine("'Platform:Fim:FoldWindowSeconds'");
        AssertNothingMade(start);
    }

    private void AssertNothingMade(Start start)
    {
        Assert.DoesNotContain("admin token", start.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_data));
    }

    private sealed record Start(int ExitCode, string Stdout, string Stderr)
    {
        public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        public void AssertRefusedInOneLine(string about)
        {
            Assert.True(ExitCode == 2, $"exit code {ExitCode}; stderr:\n{Stderr}\nstdout:\n{Stdout}");
            Assert.DoesNotContain("   at ", Stderr, StringComparison.Ordinal);
            var line = Assert.Single(StderrLines);
            Assert.Contains(about, line, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The api's build, started with the data directory of this test, a free port (port 0) and no PLATFORM_ADMIN_TOKEN
    /// (so a first admin token would be printed), plus <paramref name="settings"/>; run until it exits (a minute at most).
    /// </summary>
    private async Task<Start> StartAsync(Dictionary<string, string> settings)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        var dll = Path.Combine(Repository.Root, "api", "bin", configuration, "net10.0", "Platform.Api.dll");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment.Remove("PLATFORM_ADMIN_TOKEN");
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Platform__DataDirectory"] = _data;
        foreach (var (name, value) in settings)
            start.Environment[name] = value;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The api did not stop at its mistake; it wrote:\n{await stdout}\n{await stderr}");
        }

        return new Start(process.ExitCode, await stdout, await stderr);
    }
}

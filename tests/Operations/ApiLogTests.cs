using System.Text;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Operations;

/// <summary>What the api writes at its default levels (api/appsettings.json), as its own process.</summary>
public sealed class ApiLogTests : IAsyncDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("api-log-").FullName;
    private readonly string _admin = "plt_test-admin-" + Guid.NewGuid().ToString("N");
    private ApiProcess? _api;

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
            await _api.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task At_default_levels_a_request_is_one_line()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // tests/bin/<configuration>/net10.0/
        var log = new ApiLog();
        // ApiProcess quiets the api to warnings; here the file's levels stand.
        _api = await ApiProcess.StartAsync(_data, _admin, configuration, new Dictionary<string, string?> { ["Logging__LogLevel__Default"] = null }, log);
        var before = Lines((await log.ReadAsync())[0]).Count;

        using (var http = _api.Http(_admin))
        {
            (await http.GetAsync("/api/v1/health")).EnsureSuccessStatusCode();
            (await http.GetAsync("/api/v1/tokens")).EnsureSuccessStatusCode();
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/v1/no-such-thing")).StatusCode);
        }

        await _api.StopAsync(); // the console logger has written everything once the process has ended
        var after = Lines((await log.ReadAsync(drain: true))[0]).Skip(before)
            .Where(l => !l.Contains("Microsoft.Hosting.Lifetime", StringComparison.Ordinal)) // stopping
            .Where(l => !l.Contains("/api/v1/health/ready", StringComparison.Ordinal)) // ApiProcess's last readiness probe may be written after the count
            .ToList();

        Assert.Collection(after,
            line => Assert.Contains("RequestLog[0] GET /api/v1/health 200", line, StringComparison.Ordinal),
            line => Assert.Contains("RequestLog[0] GET /api/v1/tokens 200", line, StringComparison.Ordinal),
            line => Assert.Contains("RequestLog[0] GET (no route) 404", line, StringComparison.Ordinal));
    }

    private static List<string> Lines(byte[] output) => [.. Encoding.UTF8.GetString(output).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
}

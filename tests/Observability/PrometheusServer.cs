using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Observability;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) scraping the given targets every second, on a free
/// loopback port, with its data in a directory of its own; killed and removed on dispose. Skips the test where it is
/// not installed, and fails it when CI is set (.ci/run installs it).
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;
    private readonly ConcurrentQueue<string> _output;

    private PrometheusServer(Process process, string directory, Uri address, ConcurrentQueue<string> output)
    {
        (_process, _directory, _output) = (process, directory, output);
        _http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>What it logged, for a failure's message.</summary>
    public string Output => string.Join("\n", _output);

    public static string? Executable =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Select(d => Path.Combine(d, "prometheus")).FirstOrDefault(File.Exists);

    /// <summary>Skips here, fails in CI, when the server is not installed.</summary>
    public static string Require()
    {
        if (Executable is { } found)
            return found;
        if (PostgresCluster.InCi)
            throw new InvalidOperationException("CI is set but the prometheus server is not installed (apt-get install prometheus; .ci/run does).");
        Skip.If(true, "prometheus is not installed here (apt-get install prometheus).");
        return "";
    }

    /// <param name="targets">Each job's name and its scrape address (host:port, path /metrics).</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targets)
    {
        var executable = Require();
        var directory = Directory.CreateTempSubdirectory("prometheus-test-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
            {string.Concat(targets.Select(t => $"  - job_name: {t.Key}\n    static_configs:\n      - targets: ['{t.Value}']\n"))}
            """);
        // The port is free when looked at, not necessarily when the server binds it: another is tried when it was taken.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var output = new ConcurrentQueue<string>();
            var start = new ProcessStartInfo(executable,
                [$"--config.file={config}", $"--storage.tsdb.path={Path.Combine(directory, $"data-{attempt}")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory,
            };
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"), output);
            if (await server.ReadyAsync())
                return server;
            var taken = server.Output.Contains("address already in use", StringComparison.Ordinal);
            await server.StopAsync();
            if (!taken || attempt == 5)
            {
                Directory.Delete(directory, recursive: true);
                throw new InvalidOperationException($"prometheus did not start (attempt {attempt}):\n{server.Output}");
            }
        }
    }

    private async Task<bool> ReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30) && !_process.HasExited)
        {
            try
            {
                using var ready = await _http.GetAsync("-/ready");
                if (ready.IsSuccessStatusCode)
                    return true;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>An instant query's first value, or null when it has no result (yet).</summary>
    public async Task<double?> QueryAsync(string promql)
    {
        using var answer = await _http.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(promql));
        answer.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        var result = json.RootElement.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>Polls <paramref name="promql"/> until its value passes <paramref name="wanted"/>, for at most <paramref name="patience"/>.</summary>
    public async Task<double> UntilAsync(string promql, Func<double, bool> wanted, TimeSpan patience, Func<string>? context = null)
    {
        var deadline = Stopwatch.StartNew();
        double? last = null;
        while (deadline.Elapsed < patience)
        {
            last = await QueryAsync(promql);
            if (last is { } value && wanted(value))
                return value;
            await Task.Delay(250);
        }

        var targets = await (await _http.GetAsync("api/v1/targets")).Content.ReadAsStringAsync();
        throw new TimeoutException($"Prometheus: '{promql}' was {last?.ToString(CultureInfo.InvariantCulture) ?? "empty"} after {patience}.\nTargets: {targets}\n{context?.Invoke()}\n{Output}");
    }

    /// <summary>A loopback port nothing listens on now (the caller handles losing it to someone else).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _http.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

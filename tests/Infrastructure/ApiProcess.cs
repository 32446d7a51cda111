using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;

namespace Platform.Tests.Infrastructure;

/// <summary>
/// The api as it is deployed: its own process (a build of api/), on SQLite in a given data directory, listening on
/// a Unix socket in that directory (no port to pick, and the same address after a restart). Its memory is its
/// own, so its peak RSS (the kernel's high-water mark) is the api's, not the benchmark client's. Used by the
/// benchmarks (Release build) and by the tests that stop and restart the api (the tests' build).
/// </summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;

    public int Pid => _process.Id;
    private readonly string _socket;

    private ApiProcess(Process process, string socket)
    {
        _process = process;
        _socket = socket;
    }

    /// <summary>Where it listens (the same after a restart on the same data directory).</summary>
    public string SocketPath => _socket;

    /// <summary>Whether the process has ended (crashed or stopped), and its exit code then.</summary>
    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>The process's resident memory now (VmRSS), in KiB; 0 once it has exited.</summary>
    public long ResidentKilobytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <param name="settings">More configuration (environment variables: <c>Platform__Storage__Provider</c> and so on); they override the defaults here.</param>
    /// <param name="log">Receives the process's stdout and stderr as raw bytes (nothing decoded, split or dropped), instead of the test's stderr.</param>
    /// <param name="published">A published api's Platform.Api.dll to run instead of the build's, or a self-contained api's
    /// executable (Platform.Api, started as its systemd unit does).</param>
    /// <param name="alsoOn">A loopback address to listen on besides the socket (for a browser, which cannot use a socket).</param>
    public static async Task<ApiProcess> StartAsync(
        string dataDirectory, string adminSecret, string configuration = "Release", IReadOnlyDictionary<string, string?>? settings = null, ApiLog? log = null,
        string? published = null, Uri? alsoOn = null)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Platform.sln")))
            root = root.Parent ?? throw new InvalidOperationException("Platform.sln not found");
        var dll = published ?? Path.Combine(root.FullName, "api", "bin", configuration, "net10.0", "Platform.Api.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"The api's {configuration} build is missing (bench/run.sh and the tests build it).", dll);
        var socket = Path.Combine(dataDirectory, "api.sock");
        File.Delete(socket);
        var start = new ProcessStartInfo(dll.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : dll, dll.EndsWith(".dll", StringComparison.Ordinal) ? [dll] : [])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = "http://unix:" + socket + (alsoOn is null ? "" : ";" + alsoOn.GetLeftPart(UriPartial.Authority)),
                ["Platform__DataDirectory"] = dataDirectory,
                ["PLATFORM_ADMIN_TOKEN"] = adminSecret,
                ["Platform__RateLimit__PermitsPerMinute"] = "1000000000",
                ["Logging__LogLevel__Default"] = "Warning",
            },
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
            start.Environment[name] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        if (log is null)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("api: " + e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        else
        {
            log.Follow(process.StandardOutput.BaseStream);
            log.Follow(process.StandardError.BaseStream);
        }

        var api = new ApiProcess(process, socket);

        // Ready when it answers its readiness probe (it migrates and binds the socket first).
        using var http = api.Http(adminSecret);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"The api exited with code {process.ExitCode} while starting.");
            try
            {
                using var ready = await http.GetAsync("/api/v1/health/ready");
                if (ready.IsSuccessStatusCode)
                    return api;
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromMinutes(1))
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(1))
                throw new TimeoutException("The api did not become ready within a minute.");
            await Task.Delay(100);
        }
    }

    public HttpClient Http(string secret)
    {
        var http = new HttpClient(Handler(_socket)) { BaseAddress = new Uri("http://api"), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    /// <summary>HTTP over the api's Unix socket (any host name in the address); refused while the api is stopped.</summary>
    public static SocketsHttpHandler Handler(string socketPath) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

    /// <summary>Stops the api as a service manager does (SIGTERM: it finishes what it is doing and exits).</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await _process.WaitForExitAsync();
    }

    /// <summary>The process's peak resident memory so far (VmHWM), in MiB.</summary>
    public double PeakResidentMegabytes()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        File.Delete(_socket);
    }
}

/// <summary>
/// What started apis wrote to stdout and stderr, byte for byte (nothing decoded, split or dropped). Each stream is
/// kept apart, so lines of one are never cut by chunks of another.
/// </summary>
public sealed class ApiLog
{
    private readonly List<(MemoryStream Bytes, Task Reader)> _streams = [];

    internal void Follow(Stream output)
    {
        var bytes = new MemoryStream();
        var reader = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await output.ReadAsync(buffer)) > 0)
            {
                lock (bytes)
                    bytes.Write(buffer, 0, read);
            }
        });
        lock (_streams)
            _streams.Add((bytes, reader));
    }

    /// <summary>Each stream's bytes so far, in the order they were started; <paramref name="drain"/> waits for the pipes of exited processes to close first.</summary>
    public async Task<IReadOnlyList<byte[]>> ReadAsync(bool drain = false)
    {
        List<(MemoryStream Bytes, Task Reader)> streams;
        lock (_streams)
            streams = [.. _streams];
        if (drain)
            await Task.WhenAll(streams.Select(s => s.Reader));
        return streams.Select(s =>
        {
            lock (s.Bytes)
                return s.Bytes.ToArray();
        }).ToList();
    }
}

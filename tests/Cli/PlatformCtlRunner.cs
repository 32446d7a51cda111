using System.Text;
using Platform.Cli;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Cli;

public sealed record CliRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>
/// platformctl run in this process, as its Program runs it (same parser, same exit codes), against the real api:
/// its requests go through the in-process server's handler, optionally through a fault (a cut connection).
/// Server and token come from the environment the runner gives it, as a pipeline would set them.
/// </summary>
public sealed class PlatformCtlRunner(PlatformApi api, string secret) : IDisposable
{
    public string ConfigDirectory { get; } = Directory.CreateTempSubdirectory("platformctl-config-").FullName;

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("platformctl-work-").FullName;

    public Dictionary<string, string?> Environment { get; } = new()
    {
        ["PLATFORM_SERVER"] = "http://localhost",
        ["PLATFORM_TOKEN"] = secret,
    };

    /// <summary>As on a terminal: progress bars drawn (into the captured standard error).</summary>
    public bool Interactive { get; set; }

    /// <summary>Wraps the api's handler for each command (e.g. to cut a download short).</summary>
    public Func<HttpMessageHandler, HttpMessageHandler>? Transport { get; set; }

    public string File(string name) => Path.Combine(WorkDirectory, name);

    public Task<CliRun> RunAsync(params string[] args) => RunAsync(args, stdin: null, output: null, CancellationToken.None);

    public async Task<CliRun> RunAsync(string[] args, string? stdin, TextWriter? output, CancellationToken cancellationToken)
    {
        api.Http(); // starts the server
        var stdout = output ?? new StringWriter();
        var stderr = new StringWriter();
        var host = new CliHost
        {
            Out = stdout,
            Error = stderr,
            In = new StringReader(stdin ?? ""),
            Environment = name => Environment.GetValueOrDefault(name),
            ConfigDirectory = ConfigDirectory,
            // Checked against openapi.yaml as the api's own clients are (SpecCheck), inside any fault.
            Handler = () => Transport is { } wrap ? wrap(new SpecCheck(api.Server.CreateHandler())) : new SpecCheck(api.Server.CreateHandler()),
            DefaultPollInterval = TimeSpan.FromMilliseconds(100),
            RetryDelay = TimeSpan.FromMilliseconds(10),
            Interactive = Interactive,
        };
        var code = await PlatformCtl.RunAsync(args, host, cancellationToken);
        return new CliRun(code, stdout.ToString() ?? "", stderr.ToString());
    }

    public void Dispose()
    {
        Directory.Delete(ConfigDirectory, recursive: true);
        Directory.Delete(WorkDirectory, recursive: true);
    }
}

/// <summary>Standard output that a test can wait on while a command (incidents watch) is still running.</summary>
public sealed class LiveWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly SemaphoreSlim _lineWritten = new(0);

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (_text)
            _text.Append(value);
        if (value == '\n')
            _lineWritten.Release();
    }

    public override string ToString()
    {
        lock (_text)
            return _text.ToString();
    }

    /// <summary>The lines written whole: a line still being written (no newline yet) is not one.</summary>
    public string[] Lines
    {
        get
        {
            var text = ToString();
            return text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>Waits (a minute at most) until the lines written satisfy the condition.</summary>
    public async Task WaitForAsync(Func<string[], bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition(Lines))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _lineWritten.WaitAsync(left))
                throw new TimeoutException($"waited a minute for {what}; output so far:\n{this}");
        }
    }
}

/// <summary>
/// A connection that drops part way through a bundle: the response's first <c>afterBytes</c> bytes arrive, then
/// reading fails as a reset connection does. The first <c>cuts</c> bundle responses are cut; every bundle request's
/// Range and If-Range are recorded.
/// </summary>
public sealed class CutConnections(int cuts, long afterBytes)
{
    private int _cuts = cuts;
    private readonly long _afterBytes = afterBytes;

    public List<(string? Range, string? IfRange, int Status)> BundleRequests { get; } = [];

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(this) { InnerHandler = inner };

    private sealed class Handler(CutConnections state) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/bundle", StringComparison.Ordinal))
                return response;
            lock (state.BundleRequests)
                state.BundleRequests.Add((request.Headers.Range?.ToString(), request.Headers.IfRange?.ToString(), (int)response.StatusCode));
            if (!response.IsSuccessStatusCode || Interlocked.Decrement(ref state._cuts) < 0)
                return response;
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var cut = new StreamContent(new DroppingStream(body, state._afterBytes));
            foreach (var header in response.Content.Headers)
                cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content = cut;
            return response;
        }
    }

    private sealed class DroppingStream(byte[] body, long afterBytes) : MemoryStream(body, 0, (int)Math.Min(body.Length, afterBytes))
    {
        public override int Read(Span<byte> buffer) => Checked(base.Read(buffer), buffer.Length);

        public override int Read(byte[] buffer, int offset, int count) => Checked(base.Read(buffer, offset, count), count);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Checked(await base.ReadAsync(buffer, cancellationToken), buffer.Length);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Checked(int read, int wanted) =>
            read == 0 && wanted > 0 ? throw new IOException("Unable to read data from the transport connection: Connection reset by peer.") : read;
    }
}

/// <summary>The API unreachable for a while: the first <c>failures</c> requests whose path ends with <c>pathEnd</c> fail as a refused connection does.</summary>
public sealed class Outage(string pathEnd, int failures)
{
    private int _left = failures;
    private int _requests;

    /// <summary>Requests to the path, failed or not.</summary>
    public int Requests => _requests;

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(this) { InnerHandler = inner };

    private sealed class Handler(Outage state) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!request.RequestUri!.AbsolutePath.EndsWith(state._pathEnd, StringComparison.Ordinal))
                return base.SendAsync(request, cancellationToken);
            Interlocked.Increment(ref state._requests);
            return Interlocked.Decrement(ref state._left) >= 0
                ? throw new HttpRequestException("Connection refused (localhost:80)", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))
                : base.SendAsync(request, cancellationToken);
        }
    }

    private readonly string _pathEnd = pathEnd;
}

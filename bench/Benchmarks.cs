using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Bench;

// End-to-end benchmarks against the api on real Kestrel, printed as one table. They stay hand-timed, not BenchmarkDotNet:
// each measures a system from outside (an api under concurrent HTTP load, the agent or the api as a process of its own
// read from /proc, the kernel under a storm, a policy applied once to 10,000 real inodes) with set-up that takes minutes
// and a figure per run against a target, where BenchmarkDotNet times one method invoked many times. The micro-benchmarks
// (one method in a loop: detection on one thread, the agent's spool) are BenchmarkDotNet classes in Micro/:
// `bench/run.sh micro [BenchmarkDotNet arguments]` (Micro/MicroBenchmarks.cs).
//   FIM (FimBenchmarks): alert ingest, effective policy GET;
//   FIM globs (FimGlobBenchmarks, suite=fim-globs): pathGlob and host globs against the longest texts the spec allows;
//   flight data (TelemetryBenchmarks): event ingest on SQLite and PostgreSQL beside the machine's own limits;
//   forensics (ForensicBenchmarks): the 500-line view over millions of events, a full bundle's speed and memory;
//   agent (AgentBenchmarks): the agent process's CPU and RSS at 1,000 events/s;
//   sensor (SensorBenchmarks): the kernel sensor beside the collectors: capture share of an exec + connect storm at
//     5k/20k/50k events/s (bench/Storm/storm.c, compiled with clang-14), the agent's CPU and RSS at 1,000 and
//     10,000 events/s, the slowdown of a fork+exec and connect workload and of cheap system calls;
//   enforcement (AlertLatencyBenchmarks): a refused attempt on a prevent rule's file until the api lists its alert (median, p99);
//     (PolicyUpdateBenchmarks): a prevent rule over protectFiles files applied, again, checked, given back; memory held;
//   incidents (IncidentBenchmarks): ingest with detection on against off, the incident list;
//   analyst (AnalystCostBenchmarks): the CPU the costliest requests of an analyst token cost the api, one at a time;
//   console (ConsoleBenchmarks): Incident Explorer in Chromium over 100,000 incidents: first meaningful paint, a filter
//     change, the bytes of the first load, beside the API calls the queue waits on.
// Usage: bench/run.sh micro [BenchmarkDotNet arguments: --filter '*Detection*' --job short ...]
//        bench/run.sh [suite=all|fim|fim-globs|telemetry|forensics|agent|sensor|enforcement|incidents|analyst|console] [alerts=200000] [agents=10000] [rules=1000]
//                     [events=2000000] [senders=4 for FIM, 8 for flight data] [sqlite=1] [postgres=1] [viewEvents=10000000] [bundleMB=1024]
//                     [agentRate=1000] [agentSeconds=75] [rounds=7] [handoff=64 (MiB; 0: from storage)] [incidents=100000]
//                     [analystAlerts=300000] [analystEvents=2000000] [stormSeconds=5] [costSeconds=10] [stormExecs=500] [stormWorkers=2]
//                     [overheadExecs=2000] [overheadConnects=20000] [getppids=2000000] [writes=500000] [overheadRounds=3]
//                     [latencyFiles=200] [latencyLinger=1000] [latencyPollMs=10] [protectFiles=10000]
public static class Benchmarks
{
    // The parts of the run; each runs in a process of its own (see Main).
    private static readonly (string Part, string Suite, Func<IReadOnlyDictionary<string, int>, bool> Selected, Func<IReadOnlyDictionary<string, int>, List<(string, string, string)>, Task> Run)[] Parts =
    [
        ("fim", "fim", _ => true, async (settings, results) =>
        {
            await using var api = new BenchApi(StorageProvider.Sqlite);
            await FimBenchmarks.RunAsync(api, settings, results);
        }),
        ("fim-globs", "fim-globs", _ => true, async (settings, results) =>
        {
            await using var api = new BenchApi(StorageProvider.Sqlite);
            await FimGlobBenchmarks.RunAsync(api, settings, results);
        }),
        ("telemetry-sqlite", "telemetry", s => s.GetValueOrDefault("sqlite", 1) != 0, (settings, results) => TelemetryBenchmarks.RunAsync(StorageProvider.Sqlite, settings, results)),
        ("telemetry-postgres", "telemetry", s => s.GetValueOrDefault("postgres", 1) != 0, (settings, results) => TelemetryBenchmarks.RunAsync(StorageProvider.Postgres, settings, results)),
        ("forensics", "forensics", _ => true, ForensicBenchmarks.RunAsync),
        ("agent", "agent", _ => true, AgentBenchmarks.RunAsync),
        ("sensor", "sensor", _ => true, SensorBenchmarks.RunAsync),
        ("alert-latency", "enforcement", _ => true, AlertLatencyBenchmarks.RunAsync),
        ("policy-update", "enforcement", _ => true, PolicyUpdateBenchmarks.RunAsync),
        ("incidents-detection", "incidents", _ => true, IncidentBenchmarks.DetectionAsync),
        ("incidents-list-sqlite", "incidents", s => s.GetValueOrDefault("sqlite", 1) != 0, (settings, results) => IncidentBenchmarks.ListAsync(StorageProvider.Sqlite, settings, results)),
        ("analyst", "analyst", _ => true, AnalystCostBenchmarks.RunAsync),
        ("console", "console", _ => true, ConsoleBenchmarks.RunAsync),
        ("incidents-list-postgres", "incidents", s => s.GetValueOrDefault("postgres", 1) != 0, (settings, results) => IncidentBenchmarks.ListAsync(StorageProvider.Postgres, settings, results)),
    ];

    public static async Task Main(string[] args)
    {
        if (args.FirstOrDefault() == "micro")
        {
            Micro.MicroBenchmarks.Run(args[1..]);
            return;
        }

        var arguments = args.Select(a => a.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        string[] named = ["suite", "part", "results"];
        var settings = arguments.Where(p => !named.Contains(p.Key)).ToDictionary(p => p.Key, p => int.Parse(p.Value, CultureInfo.InvariantCulture));

        // A part run for a parent: its rows go to the parent's file.
        if (arguments.TryGetValue("part", out var only))
        {
            var rows = new List<(string Benchmark, string Figure, string Target)>();
            await Parts.Single(p => p.Part == only).Run(settings, rows);
            await File.WriteAllLinesAsync(arguments["results"], rows.Select(r => $"{r.Benchmark}\t{r.Figure}\t{r.Target}"));
            return;
        }

        // Each part runs in a fresh process: a part measured after another in the same process inherited its heap,
        // threads and compiled code, and measured a fifth lower than alone (whichever store came second).
        var suite = arguments.GetValueOrDefault("suite", "all");
        var results = new List<string[]>();
        foreach (var part in Parts.Where(p => suite == "all" || p.Suite == suite).Where(p => p.Selected(settings)))
            results.AddRange(await RunPartAsync(part.Part, args));

        Console.WriteLine();
        Console.WriteLine($"| benchmark | measured | target |");
        Console.WriteLine($"|---|---|---|");
        foreach (var row in results)
            Console.WriteLine($"| {string.Join(" | ", row)} |");
        Console.WriteLine();
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
    }

    private static async Task<IEnumerable<string[]>> RunPartAsync(string part, string[] args)
    {
        var results = Path.GetTempFileName();
        try
        {
            // This program again: through the dotnet host when it was started by it, else its own executable.
            var self = Environment.ProcessPath!;
            var start = new System.Diagnostics.ProcessStartInfo(self);
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
                start.ArgumentList.Add(typeof(Benchmarks).Assembly.Location);
            foreach (var argument in args.Where(a => !a.StartsWith("suite=", StringComparison.Ordinal)).Append($"part={part}").Append($"results={results}"))
                start.ArgumentList.Add(argument);
            using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("the benchmark did not start");
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"benchmark part {part} failed with exit code {process.ExitCode}");
            return (await File.ReadAllLinesAsync(results)).Select(line => line.Split('\t'));
        }
        finally
        {
            File.Delete(results);
        }
    }

    public static string Percentiles(List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double p) => sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        return $"median {At(0.5):N2} ms, p95 {At(0.95):N2} ms, p99 {At(0.99):N2} ms ({sorted.Length:N0} requests)";
    }
}

/// <summary>
/// The api on real Kestrel (a loopback port of its own), on SQLite in a temp directory or on a database of a
/// throwaway PostgreSQL cluster (durable: fsync on), with no rate limit. It also answers
/// <c>POST /bench/discard</c>: the same JSON parsing and validation as a telemetry push, then nothing.
/// </summary>
public sealed class BenchApi : WebApplicationFactory<Program>
{
    private readonly string _data;
    private readonly bool _ownsData;
    private readonly StorageProvider _provider;
    private readonly IReadOnlyDictionary<string, string> _settings;

    /// <param name="dataDirectory">The data directory to use and leave in place; by default a temp directory, deleted at the end.</param>
    public BenchApi(StorageProvider provider, string? dataDirectory = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        _provider = provider;
        _settings = settings ?? new Dictionary<string, string>();
        _ownsData = dataDirectory is null;
        _data = dataDirectory ?? Directory.CreateTempSubdirectory("platform-bench-").FullName;
        // The factory looks for the api's content root next to a test project; tell it where it is.
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Platform.sln")))
            root = root.Parent ?? throw new InvalidOperationException("Platform.sln not found");
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_PLATFORM_API", Path.Combine(root.FullName, "api"));
        UseKestrel(0);
    }

    public string AdminSecret { get; } = "plt_bench-admin-" + Guid.NewGuid().ToString("N");

    public HttpClient Http(string secret, HttpMessageHandler? handler = null)
    {
        StartServer();
        var address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var http = new HttpClient(handler ?? new SocketsHttpHandler()) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return http;
    }

    public PlatformClient Client(string secret, HttpMessageHandler? handler = null) => new(Http(secret, handler));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Platform:DataDirectory", _data);
        builder.UseSetting("PLATFORM_ADMIN_TOKEN", AdminSecret);
        builder.UseSetting("Platform:RateLimit:PermitsPerMinute", "1000000000");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
        if (_provider == StorageProvider.Postgres)
        {
            Platform.Tests.Infrastructure.PostgresCluster.Durable = true;
            builder.UseSetting("Platform:Storage:Provider", "Postgres");
            builder.UseSetting("Platform:Storage:ConnectionString", Platform.Tests.Infrastructure.PostgresCluster.CreateDatabase());
        }

        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter, DiscardEndpoint>());
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsData)
            Directory.Delete(_data, recursive: true);
    }

    /// <summary>Parses and validates a telemetry batch exactly as the push does, and stores nothing.</summary>
    private sealed class DiscardEndpoint : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            var json = app.ApplicationServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            app.Use(async (context, nextMiddleware) =>
            {
                if (!context.Request.Path.StartsWithSegments("/bench/discard"))
                {
                    await nextMiddleware(context);
                    return;
                }

                using var batch = await Platform.Api.Telemetry.EventBatch.ReadAsync(context.Request, "node-0", context.RequestServices.GetRequiredService<Platform.Api.Http.IngestClock>(), context.RequestAborted);
                if (batch.Errors is { } errors)
                    throw new InvalidOperationException("bench batch is invalid: " + string.Join("; ", errors.Keys));
                await context.Response.WriteAsJsonAsync(new TelemetryBatchResult { BatchId = batch.Id, Sequence = batch.Sequence, Received = batch.Count, Duplicate = false }, json);
            });
            next(app);
        };
    }
}

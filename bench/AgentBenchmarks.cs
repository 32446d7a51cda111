using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// The node agent: what the agent process costs the node (CPU, memory) while it records and delivers 1,000 events a
/// second to the api (on SQLite, in this process). The spool's own throughput is a micro-benchmark
/// (Micro/SpoolBenchmarks.cs, BenchmarkDotNet); this one is a process measured from outside, over a minute.
/// </summary>
public static class AgentBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        await AgentAtRateAsync(settings.GetValueOrDefault("agentRate", 1_000), settings.GetValueOrDefault("agentSeconds", 75), results);
    }

    /// <summary>The events the spool benchmark records (Micro/SpoolBenchmarks.cs): a mix of kinds, as a node makes them.</summary>
    internal static TelemetryEvent Event(int n, DateTimeOffset time) => (n % 10) switch
    {
        0 => new ProcessStartEvent { Id = $"e-{n}", Time = time, ProcessName = "php-fpm", Pid = 20000 + n, Ppid = 812, Executable = "/usr/sbin/php-fpm8.2", Args = ["php-fpm: pool www"], User = "www-data", Uid = 33 },
        1 => new NetworkConnectEvent { Id = $"e-{n}", Time = time, ProcessName = "php-fpm", Pid = 20000 + n, Protocol = NetworkProtocol.Tcp, LocalAddress = "10.0.3.7", LocalPort = 40000 + n, RemoteAddress = "10.0.3.20", RemotePort = 3306 },
        _ => new FileAccessEvent { Id = $"e-{n}", Time = time, ProcessName = "nginx", Pid = 811, Path = $"/var/www/html/assets/{n}.css", Operation = FimOperation.Read },
    };

    /// <summary>
    /// The agent's Release build as its own process, <c>simulate --rate</c>: it records <paramref name="rate"/> events a
    /// second into its spool and delivers them (batches of up to 500, a second's linger) to the api. Its CPU time and
    /// memory are read from /proc over the steady part (after the first 15 s: start, enrollment, JIT).
    /// </summary>
    private static async Task AgentAtRateAsync(int rate, int seconds, List<(string, string, string)> results)
    {
        await using var api = new BenchApi(StorageProvider.Sqlite);
        var admin = api.Client(api.AdminSecret);
        var enrollment = await admin.CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-agent" });
        var address = api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var state = Directory.CreateTempSubdirectory("bench-agent-").FullName;
        try
        {
            var start = new ProcessStartInfo(AgentExecutable(), ["simulate", "--rate", rate.ToString(CultureInfo.InvariantCulture), "--seconds", seconds.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["Platform__Agent__Server"] = address,
                    ["Platform__Agent__EnrollToken"] = enrollment.Secret,
                    ["Platform__Agent__StateDirectory"] = state,
                    ["Platform__Agent__Hostname"] = "bench-agent-01",
                    ["Platform__Agent__Simulate__Scenarios"] = "",
                    ["Logging__LogLevel__Default"] = "Warning",
                },
            };
            using var agent = Process.Start(start) ?? throw new InvalidOperationException("the agent did not start");
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            agent.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            agent.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
            agent.BeginOutputReadLine();
            agent.BeginErrorReadLine();

            const int settle = 15;
            await Task.Delay(TimeSpan.FromSeconds(settle));
            var (cpuBefore, clock) = (CpuTicks(agent.Id), Stopwatch.StartNew());
            var rss = new List<long>();
            while (clock.Elapsed < TimeSpan.FromSeconds(seconds - settle - 2) && !agent.HasExited)
            {
                rss.Add(Status(agent.Id, "VmRSS"));
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            var cpu = (CpuTicks(agent.Id) - cpuBefore) / (double)TicksPerSecond / clock.Elapsed.TotalSeconds;
            var peak = Status(agent.Id, "VmHWM");
            using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await agent.WaitForExitAsync(patience.Token);
            if (agent.ExitCode != 0 || !output.Any(line => line.StartsWith("delivered:", StringComparison.Ordinal)))
                throw new InvalidOperationException("the agent did not deliver everything: " + string.Join("\n", output));

            results.Add(($"agent at {rate:N0} events/s (simulate --rate, delivering to the api): CPU", $"{cpu * 100:N1} % of one core (over {clock.Elapsed.TotalSeconds:N0} s, after {settle} s)", "< 5 %"));
            results.Add(($"agent at {rate:N0} events/s: memory", $"RSS {rss.Max() / 1024.0:N0} MB at most while steady (median {rss.Order().ElementAt(rss.Count / 2) / 1024.0:N0} MB), peak {peak / 1024.0:N0} MB", "RSS < 80 MB"));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private const int TicksPerSecond = 100; // USER_HZ: /proc reports CPU time in these on Linux

    /// <summary>User and system CPU time of a process so far (fields 14 and 15 of /proc/pid/stat, after the command name).</summary>
    internal static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>A kB figure of /proc/pid/status (VmRSS, VmHWM).</summary>
    internal static long Status(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>The agent as it ships: its native executable, published when this project builds (agent/NativeAgent.targets).</summary>
    internal static string AgentExecutable()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Platform.sln")))
            root = root.Parent ?? throw new InvalidOperationException("Platform.sln not found");
        var executable = Path.Combine(root.FullName, "agent", "bin", "Release", "native", "Platform.Agent");
        return File.Exists(executable) ? executable : throw new FileNotFoundException("The agent's native Release executable is missing (bench/run.sh publishes it).", executable);
    }
}

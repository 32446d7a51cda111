using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Platform.Api.Storage;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Bench;

/// <summary>
/// The kernel sensor (issue 20) beside the current collectors, measured in the same run: the agent's Release build as a
/// process on <c>ebpf</c>, then on <c>fallback</c> (proc connector, /proc scans), against the api on SQLite in this
/// process. What it captured is counted in the api's store; what it cost is read from /proc.
/// <list type="bullet">
/// <item>capture: an exec + connect storm (two perls paced at the rate: connects refused by a loopback port bound and
/// not listening, and up to <c>stormExecs</c> fork+exec a second) at 5k, 20k and 50k events/s; the share of its execs and
/// connects in the store;</item>
/// <item>cost: the agent's CPU (% of one core) and RSS while the storm runs at 1,000 and 10,000 events/s;</item>
/// <item>overhead: a loop of <c>overheadOps</c> fork+exec then as many loopback connects, timed with no agent, with the
/// sensor and with the collectors.</item>
/// </list>
/// The storm reaches what perl reaches on this machine at most: the rate it reached is in the table.
/// </summary>
public static class SensorBenchmarks
{
    public static async Task RunAsync(IReadOnlyDictionary<string, int> settings, List<(string Benchmark, string Figure, string Target)> results)
    {
        var seconds = settings.GetValueOrDefault("stormSeconds", 5);
        var costSeconds = settings.GetValueOrDefault("costSeconds", 20);
        var execRate = settings.GetValueOrDefault("stormExecs", 500);
        var overheadOps = settings.GetValueOrDefault("overheadOps", 20_000);

        await using var api = new BenchApi(StorageProvider.Sqlite);
        var baseline = await OverheadAsync(overheadOps);
        foreach (var mode in new[] { "ebpf", "fallback" })
        {
            var name = mode == "ebpf" ? "sensor (ebpf)" : "collectors (fallback)";
            await using var agent = await BenchAgent.StartAsync(api, mode);
            foreach (var rate in new[] { 5_000, 20_000, 50_000 })
            {
                var storm = await StormAsync(rate, seconds, execRate);
                var (execs, connects) = await agent.CapturedAsync(storm);
                var made = storm.Execs + storm.Connects;
                var lost = await agent.LostEventsAsync();
                results.Add(($"{name}: capture at {rate:N0} events/s (reached {made / storm.Seconds:N0}/s over {storm.Seconds:N1} s)",
                    $"{100.0 * (execs + connects) / made:N2} % ({execs:N0} of {storm.Execs:N0} execs, {connects:N0} of {storm.Connects:N0} connects); lost (heartbeat): {lost}",
                    mode == "ebpf" && rate == 20_000 ? "100 % at 20k/s" : "losses counted, never silent"));
            }

            foreach (var rate in new[] { 1_000, 10_000 })
            {
                var cpuBefore = AgentBenchmarks.CpuTicks(agent.Pid);
                var rss = new List<long>();
                var clock = Stopwatch.StartNew();
                var storming = StormAsync(rate, costSeconds, Math.Min(execRate, rate / 10));
                while (!storming.IsCompleted)
                {
                    rss.Add(AgentBenchmarks.Status(agent.Pid, "VmRSS"));
                    await Task.WhenAny(storming, Task.Delay(TimeSpan.FromSeconds(1)));
                }

                var storm = await storming;
                var cpu = (AgentBenchmarks.CpuTicks(agent.Pid) - cpuBefore) / 100.0 / clock.Elapsed.TotalSeconds;
                results.Add(($"{name}: agent at {rate:N0} events/s (reached {(storm.Execs + storm.Connects) / storm.Seconds:N0}/s)",
                    $"CPU {cpu * 100:N1} % of one core, RSS {rss.Max() / 1024.0:N0} MB at most (median {rss.Order().ElementAt(rss.Count / 2) / 1024.0:N0} MB)",
                    rate == 1_000 ? "< 3 % and < 80 MB" : "reported"));
            }

            var measured = await OverheadAsync(overheadOps);
            results.Add(($"workload with the {name} ({overheadOps:N0} fork+exec, {overheadOps:N0} loopback connects)",
                $"{measured.TotalSeconds:N2} s against {baseline.TotalSeconds:N2} s with no agent: {100 * (measured / baseline - 1):+0.0;-0.0} %",
                "< 5 % slower"));
        }
    }

    private sealed record Storm(int Port, string Marker, long Execs, long Connects, double Seconds, DateTimeOffset From, DateTimeOffset Until);

    /// <summary>Perl paced at <paramref name="rate"/> events a second for <paramref name="seconds"/>: execs of /usr/bin/true (marked, at most <paramref name="execRate"/> a second) and refused connects.</summary>
    private static async Task<Storm> StormAsync(int rate, int seconds, int execRate)
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, not listening: every connect is refused at once
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        var marker = "storm-" + Guid.NewGuid().ToString("N")[..8];
        // Two pacers side by side, so slow forks never hold the connects back: one execs, one connects.
        const string execs = """
            use Time::HiRes qw(time);
            my ($rate, $seconds, $marker) = @ARGV;
            $SIG{CHLD} = 'IGNORE';
            my $n = 0;
            my $start = time;
            while ((my $elapsed = time - $start) < $seconds) {
                next if $n >= $elapsed * $rate;
                my $pid = fork();
                if ($pid == 0) { exec('/usr/bin/true', "$marker-$n"); exit 127; }
                $n++;
            }
            printf "%d %.6f\n", $n, time - $start;
            """;
        const string connects = """
            use Socket; use Time::HiRes qw(time);
            my ($rate, $seconds, $port) = @ARGV;
            my $to = sockaddr_in($port, inet_aton('127.0.0.1'));
            my $n = 0;
            my $start = time;
            while ((my $elapsed = time - $start) < $seconds) {
                next if $n >= $elapsed * $rate;
                socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
                connect($s, $to);
                close($s);
                $n++;
            }
            printf "%d %.6f\n", $n, time - $start;
            """;
        var execRateHere = Math.Min(execRate, rate);
        string S(int n) => n.ToString(CultureInfo.InvariantCulture);
        var from = DateTimeOffset.UtcNow;
        var execing = RunAsync("perl", "-e", execs, S(execRateHere), S(seconds), marker);
        var connecting = RunAsync("perl", "-e", connects, S(rate - execRateHere), S(seconds), S(port));
        var (e, c) = ((await execing).Trim().Split(' '), (await connecting).Trim().Split(' '));
        var until = DateTimeOffset.UtcNow;
        return new Storm(port, marker, long.Parse(e[0], CultureInfo.InvariantCulture), long.Parse(c[0], CultureInfo.InvariantCulture),
            Math.Max(double.Parse(e[1], CultureInfo.InvariantCulture), double.Parse(c[1], CultureInfo.InvariantCulture)), from, until);
    }

    /// <summary>The monitored workload: <paramref name="ops"/> fork+exec (each waited for), then as many loopback connects.</summary>
    private static async Task<TimeSpan> OverheadAsync(int ops)
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        const string script = """
            use Socket;
            my ($ops, $port) = @ARGV;
            for my $i (1..$ops) { my $pid = fork(); if ($pid == 0) { exec('/usr/bin/true'); exit 127; } waitpid($pid, 0); }
            my $to = sockaddr_in($port, inet_aton('127.0.0.1'));
            for my $i (1..$ops) { socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!"; connect($s, $to); close($s); }
            """;
        var clock = Stopwatch.StartNew();
        await RunAsync("perl", "-e", script, ops.ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture));
        return clock.Elapsed;
    }

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {await error}");
    }

    /// <summary>The agent's Release build on one sensor mode, enrolled with the api, until disposed.</summary>
    private sealed class BenchAgent : IAsyncDisposable
    {
        private readonly BenchApi _api;
        private readonly Process _process;
        private readonly string _state;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
        private string _agentId = "";

        private BenchAgent(BenchApi api, Process process, string state)
        {
            _api = api;
            _process = process;
            _state = state;
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public int Pid => _process.Id;

        public static async Task<BenchAgent> StartAsync(BenchApi api, string mode)
        {
            var enrollment = await api.Client(api.AdminSecret).CreateEnrollmentTokenAsync(new EnrollmentTokenCreate { Name = "bench-sensor-" + mode });
            var address = api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var state = Directory.CreateTempSubdirectory("bench-sensor-").FullName;
            var start = new ProcessStartInfo("dotnet", [AgentBenchmarks.AgentDll(), "--enroll-token", enrollment.Secret])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["Platform__Agent__Server"] = address,
                    ["Platform__Agent__StateDirectory"] = state,
                    ["Platform__Agent__Hostname"] = "bench-sensor-" + mode,
                    ["Platform__Agent__Sensor__Mode"] = mode,
                    ["Platform__Agent__HeartbeatSeconds"] = "2",
                    ["Platform__Agent__InventorySeconds"] = "0",
                    ["Platform__Agent__WatchFiles"] = "false",
                    ["Platform__Agent__BaselineHours"] = "0",
                    ["Logging__LogLevel__Default"] = "Warning",
                },
            };
            var agent = new BenchAgent(api, Process.Start(start) ?? throw new InvalidOperationException("the agent did not start"), state);
            var credential = Path.Combine(state, "credential.json");
            await agent.UntilAsync(() => Task.FromResult(File.Exists(credential)), "the agent to enroll");
            agent._agentId = System.Text.Json.JsonDocument.Parse(File.ReadAllText(credential)).RootElement.GetProperty("AgentId").GetString()!;

            // Ready when a probe process is in the store.
            var marker = "bench-probe-" + Guid.NewGuid().ToString("N")[..8];
            var since = DateTimeOffset.UtcNow.AddSeconds(-2);
            var tries = 0;
            await agent.UntilAsync(async () =>
            {
                await RunAsync("sh", "-c", $"true {marker}-{tries++}");
                return await agent.CountAsync(TelemetryEventKind.Process_start, since, DateTimeOffset.UtcNow.AddMinutes(1), marker) > 0;
            }, "the agent to report a probe");
            return agent;
        }

        /// <summary>Execs and connects of the storm in the store, once their count stops growing (3 s without a new one).</summary>
        public async Task<(long Execs, long Connects)> CapturedAsync(Storm storm)
        {
            var from = storm.From.AddSeconds(-1);
            var until = storm.Until.AddMinutes(1);
            (long, long) last = (-1, -1);
            var still = Stopwatch.StartNew();
            var patience = Stopwatch.StartNew();
            while (true)
            {
                var now = (await CountAsync(TelemetryEventKind.Process_start, from, until, storm.Marker),
                    await CountAsync(TelemetryEventKind.Network_connect, from, until, $"\"remotePort\":{storm.Port}"));
                if (now != last)
                {
                    (last, still) = (now, Stopwatch.StartNew());
                }
                else if (still.Elapsed > TimeSpan.FromSeconds(3) || patience.Elapsed > TimeSpan.FromMinutes(2))
                {
                    return now;
                }

                await Task.Delay(500);
            }
        }

        /// <summary>Events of a kind in the store whose JSON holds <paramref name="text"/>.</summary>
        public async Task<long> CountAsync(TelemetryEventKind kind, DateTimeOffset from, DateTimeOffset until, string text)
        {
            var reader = _api.Services.GetRequiredService<EventReader>();
            var needle = Encoding.UTF8.GetBytes(text);
            long count = 0;
            await foreach (var stored in reader.OldestFirstAsync(new SegmentFilter(_agentId, null, Segments.KindBit(kind)), from, until, null, kind, CancellationToken.None))
            {
                if (stored.Json.Span.IndexOf(needle) >= 0)
                    count++;
            }

            return count;
        }

        /// <summary>What the last heartbeat said the sensor lost (blank when it said nothing).</summary>
        public async Task<string> LostEventsAsync()
        {
            var agent = await _api.Client(_api.AdminSecret).GetAgentAsync(_agentId);
            return agent.Status?.Sensor is { } sensor ? sensor.LostEvents.ToString("N0", CultureInfo.InvariantCulture) : "-";
        }

        private async Task UntilAsync(Func<Task<bool>> condition, string what)
        {
            var deadline = Stopwatch.StartNew();
            while (!await condition())
            {
                if (_process.HasExited || deadline.Elapsed > TimeSpan.FromMinutes(2))
                    throw new InvalidOperationException($"waiting for {what}: " + string.Join("\n", _output));
                await Task.Delay(200);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
                _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
            Directory.Delete(_state, recursive: true);
        }

    }
}

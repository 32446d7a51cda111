using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Platform.Agent.Fim;
using Platform.Contracts;

namespace Platform.Tests.Agent;

/// <summary>Real inotify on temp directories: each action is seen as what it is, and only what the rules cover.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FimWatcherTests : IDisposable
{
    private static readonly FimOperation[] Every = Enum.GetValues<FimOperation>();
    private readonly string _root = Directory.CreateTempSubdirectory("fim-test-").FullName;
    private readonly ConcurrentQueue<FimAlertReport> _alerts = new();
    private readonly CancellationTokenSource _stop = new();
    private FimWatcher? _watcher;

    public void Dispose()
    {
        _stop.Cancel();
        _watcher?.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Create_read_write_chmod_rename_and_delete_are_each_seen_with_their_action()
    {
        Watch(Rule("all", [new FimPath { Path = _root, Recursive = true }]));
        var file = Path.Combine(_root, "application.cfg");
        var moved = Path.Combine(_root, "application.cfg.old");

        await File.WriteAllTextAsync(file, "key=1\n");
        await Seen(file, FimOperation.Create);
        await Seen(file, FimOperation.Write);

        _ = await File.ReadAllTextAsync(file);
        await Seen(file, FimOperation.Read);

        await File.AppendAllTextAsync(file, "key=2\n");
        await Seen(file, FimOperation.Write, after: 1);

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await Seen(file, FimOperation.Metadata);

        File.Move(file, moved);
        await Seen(file, FimOperation.Rename);
        await Seen(moved, FimOperation.Rename);

        File.Delete(moved);
        await Seen(moved, FimOperation.Delete);
        Assert.All(_alerts, a => Assert.Equal((FimAttribution.Unavailable, _watcher!.NoAttributionReason, FimAlertEffect.Alerted), (a.Attribution, a.AttributionReason, a.Effect)));
    }

    [Fact]
    public async Task Directories_made_later_under_a_recursive_rule_are_watched_too()
    {
        Watch(Rule("tree", [new FimPath { Path = _root, Recursive = true }]));
        var deeper = Path.Combine(_root, "sub", "deeper");
        Directory.CreateDirectory(deeper);
        await Seen(Path.Combine(_root, "sub"), FimOperation.Create);
        await Until(() => _watcher!.WatchedDirectories == 3, "the new directories to be watched");

        var file = Path.Combine(deeper, "secret.key");
        await File.WriteAllTextAsync(file, "k");
        await Seen(file, FimOperation.Write);
        _ = await File.ReadAllBytesAsync(file);
        await Seen(file, FimOperation.Read);
    }

    [Fact]
    public async Task A_recursive_rule_for_a_directory_not_there_yet_watches_it_once_it_is_made()
    {
        var app = Path.Combine(_root, "app");
        Watch(Rule("to-come", [new FimPath { Path = app, Recursive = true }]));
        Directory.CreateDirectory(Path.Combine(app, "conf"));
        await Seen(app, FimOperation.Create);
        await Until(() => _watcher!.WatchedDirectories == 3, "the new directory and the one inside it to be watched");

        var file = Path.Combine(app, "conf", "application.cfg");
        await File.WriteAllTextAsync(file, "db.password=x");
        await Seen(file, FimOperation.Write);
        await File.WriteAllTextAsync(Path.Combine(_root, "elsewhere.txt"), "x");
        await File.WriteAllTextAsync(Path.Combine(app, "late.txt"), "x");
        await Seen(Path.Combine(app, "late.txt"), FimOperation.Write);
        Assert.DoesNotContain(_alerts, a => a.Path.EndsWith("elsewhere.txt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Excluded_paths_and_operations_a_rule_does_not_name_raise_nothing()
    {
        Directory.CreateDirectory(Path.Combine(_root, "cache"));
        var rule = Rule("no-cache", [new FimPath { Path = _root, Recursive = true }], [FimOperation.Write]);
        rule.Exclusions = new FimExclusions { Paths = [_root + "/cache/**"] };
        Watch(rule);

        await File.WriteAllTextAsync(Path.Combine(_root, "cache", "page.html"), "x");
        _ = await File.ReadAllTextAsync(Path.Combine(_root, "cache", "page.html"));
        var sentinel = Path.Combine(_root, "sentinel");
        await File.WriteAllTextAsync(sentinel, "s");
        await Seen(sentinel, FimOperation.Write);

        // Events come in order: anything about the cache would have come before the sentinel's.
        Assert.All(_alerts, a => Assert.Equal((sentinel, FimOperation.Write), (a.Path, a.Action)));
    }

    [Fact]
    public async Task Appends_to_an_append_only_file_do_not_alert_but_a_rewrite_does_with_before_and_after()
    {
        var log = Path.Combine(_root, "audit.log");
        var sentinel = Path.Combine(_root, "sentinel");
        await File.WriteAllTextAsync(log, "line 1\n");
        var rule = Rule("audit-log", [new FimPath { Path = log }], [FimOperation.Write, FimOperation.Delete]);
        rule.AllowAppend = true;
        Watch(rule, Rule("sentinel", [new FimPath { Path = sentinel }], [FimOperation.Write]));

        await File.AppendAllTextAsync(log, "line 2\n");
        await File.AppendAllTextAsync(log, "line 3\n");
        await File.WriteAllTextAsync(sentinel, "1"); // once its alert is in, the appends have been looked at
        await Seen(sentinel, FimOperation.Write);
        // Line 2 forged in place, in one write (a truncate-and-rewrite could be looked at half done, between its two
        // steps, and its "after" would be whichever state the agent saw).
        using (var handle = File.OpenHandle(log, FileMode.Open, FileAccess.Write))
            RandomAccess.Write(handle, "forged\n"u8, fileOffset: 7);
        var rewrite = await Seen(log, FimOperation.Write);

        // The appends raised nothing: the log's one alert is the rewrite. One write to the sentinel is three events
        // (File.WriteAllText truncates with ftruncate after opening: IN_MODIFY; the write: IN_MODIFY; the close:
        // IN_CLOSE_WRITE), one alert per read of the queue that holds any of them: on a loaded machine, up to three.
        Assert.Equal([log], _alerts.Where(a => a.Path == log).Select(a => a.Path));
        Assert.All(_alerts.Where(a => a.Path != log), a => Assert.Equal((sentinel, FimOperation.Write), (a.Path, a.Action)));
        Assert.Equal(21, rewrite.Before!.Size);
        Assert.Equal(21, rewrite.After!.Size);
        Assert.NotEqual(rewrite.Before.Sha256, rewrite.After.Sha256);
        File.Delete(log);
        await Seen(log, FimOperation.Delete);
    }

    [Fact]
    public async Task A_file_rule_follows_the_file_through_an_editor_style_replace_and_covers_nothing_else()
    {
        var config = Path.Combine(_root, "application.cfg");
        await File.WriteAllTextAsync(config, "a");
        Watch(Rule("config", [new FimPath { Path = config }]));

        await File.WriteAllTextAsync(Path.Combine(_root, "other.txt"), "not covered");
        var swap = Path.Combine(_root, ".application.cfg.swp");
        await File.WriteAllTextAsync(swap, "b");
        File.Move(swap, config, overwrite: true); // how vi and most editors save
        await Seen(config, FimOperation.Rename);
        await File.AppendAllTextAsync(config, "c");
        await Seen(config, FimOperation.Write);

        Assert.All(_alerts, a => Assert.Equal(config, a.Path));
    }

    [Fact]
    public async Task A_glob_covers_the_names_it_matches_and_a_prevent_rule_says_it_could_only_report()
    {
        var rule = Rule("cfg", [new FimPath { Path = _root + "/**/*.cfg" }], [FimOperation.Write]);
        rule.Effect = FimEffect.Prevent;
        Directory.CreateDirectory(Path.Combine(_root, "conf.d"));
        Watch(rule);

        await File.WriteAllTextAsync(Path.Combine(_root, "conf.d", "notes.txt"), "x");
        var cfg = Path.Combine(_root, "conf.d", "db.cfg");
        await File.WriteAllTextAsync(cfg, "x");
        var alert = await Seen(cfg, FimOperation.Write);

        Assert.Equal(FimAlertEffect.PreventUnsupported, alert.Effect);
        Assert.All(_alerts, a => Assert.Equal(cfg, a.Path));
    }

    [Theory]
    [InlineData("/srv/**/*.cfg", "/srv/app/a.cfg", true)]
    [InlineData("/srv/**/*.cfg", "/srv/a.cfg", true)]
    [InlineData("/srv/*.cfg", "/srv/app/a.cfg", false)]
    [InlineData("/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_rsa_key", true)]
    [InlineData("/var/log/app?.log", "/var/log/app1.log", true)]
    [InlineData("/var/log/app[0-9].log", "/var/log/appx.log", false)]
    public void Globs_match_as_documented(string glob, string path, bool matches) => Assert.Equal(matches, FimGlob.Path(glob).IsMatch(path));

    [Fact]
    public async Task The_agents_own_reads_of_a_file_are_not_alerts_and_other_reads_are()
    {
        var own = Path.Combine(_root, "hashed-by-the-agent.cfg");
        var other = Path.Combine(_root, "read-by-someone.cfg");
        await File.WriteAllTextAsync(own, "x");
        await File.WriteAllTextAsync(other, "y");
        var ownReads = new OwnReads(TimeProvider.System);
        Watch(ownReads, [Rule("reads", [new FimPath { Path = _root }], [FimOperation.Read])]);

        ownReads.Mark(own);
        _ = await File.ReadAllBytesAsync(own);
        _ = await File.ReadAllBytesAsync(other); // after the agent's own read, in the same event queue
        await Seen(other, FimOperation.Read);
        Assert.DoesNotContain(_alerts, a => a.Path == own);
    }

    [Fact]
    public async Task With_fanotify_reads_and_writes_name_the_process_and_its_exclusions_apply()
    {
        var config = Path.Combine(_root, "application.cfg");
        await File.WriteAllTextAsync(config, "db.password=hunter2\n");
        var rule = Rule("attributed", [new FimPath { Path = _root }], [FimOperation.Read, FimOperation.Write]);
        rule.Exclusions = new FimExclusions { Processes = ["/usr/bin/head"] };
        rule.AllowAppend = true; // the append check opens the file from the agent: it must not wait for itself
        Watch(null, [rule], attribute: true);
        if (_watcher!.NoAttributionReason is { } reason)
        {
            // Not allowed to use fanotify here (no CAP_SYS_ADMIN): the alerts say why they have no process.
            Assert.Contains("fanotify", reason, StringComparison.Ordinal);
            return;
        }

        await Run("head", "-c", "1", config); // excluded by its executable
        await Run("cat", config);
        await Run("sh", "-c", $"echo x >> {config}"); // an append: allowed
        await Run("sh", "-c", $"echo tampered > {config}"); // a rewrite: an alert
        var read = await Seen(config, FimOperation.Read);
        var write = await Seen(config, FimOperation.Write);
        Assert.Equal((FimAttribution.Available, "cat", $"cat {config}"), (read.Attribution, read.Process!.Name, read.Process.CommandLine));
        Assert.EndsWith("/cat", read.Process.Executable, StringComparison.Ordinal);
        Assert.Equal((FimAttribution.Available, "sh"), (write.Attribution, write.Process!.Name));
        Assert.DoesNotContain(_alerts, a => a.Process?.Name == "head");
        Assert.DoesNotContain(_alerts, a => a.Process?.Pid == Environment.ProcessId); // the test's own writes before the watch, and none after

        static async Task Run(string program, params string[] args)
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, args) { RedirectStandardOutput = true })!;
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// A policy change starts a new watcher before it stops the old one (FimPolicyService). A process that opened a
    /// watched file under the old one (which read who it is) and writes under the new one alone, gone by the time the
    /// new one reads the write, is still named: the watchers share who opened watched files (FanotifyOpeners).
    /// </summary>
    [Fact]
    public async Task With_fanotify_a_write_opened_under_the_old_watcher_and_read_by_the_new_one_names_the_writer()
    {
        var key = Path.Combine(_root, "tls.key");
        await File.WriteAllTextAsync(key, "old\n");
        var rule = Rule("deployment", [new FimPath { Path = _root }], [FimOperation.Write]);
        var openers = new FanotifyOpeners();
        var old = new FimWatcher([rule], alerts => { foreach (var a in alerts) _alerts.Enqueue(a); }, TimeProvider.System, NullLogger.Instance, openers: openers);
        if (old.NoAttributionReason is not null)
        {
            old.Dispose();
            return; // no fanotify here: nothing is attributed by either watcher
        }

        _ = old.RunAsync(_stop.Token);
        using var writer = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"exec 3>>{key}; echo opened; read go; echo new >&3"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true,
        })!;
        Assert.Equal("opened", await writer.StandardOutput.ReadLineAsync()); // its open waited for the old watcher's answer

        // The new watcher marks the file (its events queue from now on) and the old one stops, as FimPolicyService does;
        // the new one reads only after the writer wrote and exited.
        _watcher = new FimWatcher([rule], alerts => { foreach (var a in alerts) _alerts.Enqueue(a); }, TimeProvider.System, NullLogger.Instance, openers: openers);
        old.Dispose();
        await writer.StandardInput.WriteLineAsync("go");
        await writer.StandardInput.FlushAsync();
        await writer.WaitForExitAsync();
        Assert.Equal(0, writer.ExitCode);
        _ = _watcher.RunAsync(_stop.Token);

        var write = await Seen(key, FimOperation.Write);
        Assert.Equal((FimAttribution.Available, writer.Id, "sh"), (write.Attribution, write.Process?.Pid, write.Process?.Name));
    }

    /// <summary>
    /// One write read from the kernel in two reads (its first write, then the rest and the close) while the handling
    /// fell behind (a busy host): both alerts carry the time of their read, not of their handling, so the fold makes them
    /// one attempt. Stamped when handled, the second came 5 s later and was a second alert.
    /// </summary>
    [Fact]
    public async Task With_fanotify_alerts_carry_the_time_their_events_were_read_however_late_they_are_handled()
    {
        var file = Path.Combine(_root, "app.cfg");
        await File.WriteAllTextAsync(file, "old\n");
        var rule = Rule("late", [new FimPath { Path = _root }], [FimOperation.Write]);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 23, 0, 0, TimeSpan.Zero));
        using var handled = new SemaphoreSlim(0);
        using var resume = new ManualResetEventSlim();
        _watcher = new FimWatcher([rule], alerts =>
        {
            foreach (var a in alerts)
                _alerts.Enqueue(a);
            handled.Release();
            resume.Wait(TimeSpan.FromSeconds(30)); // the handling stalls until the clock has moved on
        }, clock, NullLogger.Instance);
        Assert.Null(_watcher.NoAttributionReason); // fanotify: the tests run as root
        _ = _watcher.RunAsync(_stop.Token);

        using var writer = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"exec 3>>{file}; echo first >&3; echo written; read go; echo second >&3"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true,
        })!;
        Assert.Equal("written", await writer.StandardOutput.ReadLineAsync());
        Assert.True(await handled.WaitAsync(TimeSpan.FromSeconds(20)), "the first write's alert");
        await writer.StandardInput.WriteLineAsync("go");
        await writer.StandardInput.FlushAsync();
        await writer.WaitForExitAsync();
        // The sentinel's open waits until the reader answered its permission event, queued after the writer's last
        // events (its second write, its close): once it returns, those were read, at the clock's time then.
        var sentinel = Path.Combine(_root, "sentinel");
        using (var opener = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", $"echo s > {sentinel}"]))!)
            await opener.WaitForExitAsync();

        clock.Advance(TimeSpan.FromSeconds(5));
        resume.Set();
        await Seen(sentinel, FimOperation.Write); // handled after every event of the writer

        var writes = _alerts.Where(a => a.Path == file && a.Action == FimOperation.Write).ToList();
        Assert.True(writes.Count >= 2, $"the write was read in {writes.Count} read(s); the test needs two");
        Assert.All(writes, a => Assert.Equal((clock.Start, writer.Id), (a.Time, a.Process?.Pid)));
        Assert.Single(new AlertFold().Admit(writes));
    }

    [Fact]
    public async Task With_fanotify_a_prevent_rule_refuses_a_write_and_lets_reads_and_excluded_writers_through()
    {
        var config = Path.Combine(_root, "sshd_config");
        await File.WriteAllTextAsync(config, "PermitRootLogin no\n");
        var rule = Rule("no-writes", [new FimPath { Path = _root }], [FimOperation.Write]);
        (rule.Effect, rule.Exclusions) = (FimEffect.Prevent, new FimExclusions { Processes = ["tee"] }); // the system's tee, by name
        Watch(null, [rule], attribute: true);
        var tampering = await Shell($"echo PermitRootLogin yes > {config}");
        if (_watcher!.NoAttributionReason is not null)
        {
            // No fanotify here: the write happens, and the alert says it could not be stopped.
            Assert.Equal(FimAlertEffect.PreventUnsupported, (await Seen(config, FimOperation.Write)).Effect);
            return;
        }

        Assert.NotEqual(0, tampering); // refused: the shell could not open it for writing
        Assert.Equal("PermitRootLogin no\n", await File.ReadAllTextAsync(config));
        var refused = await Seen(config, FimOperation.Write);
        Assert.Equal((FimAlertEffect.Prevented, FimAttribution.Available, "sh"), (refused.Effect, refused.Attribution, refused.Process!.Name));

        Assert.Equal(0, await Shell($"cat {config} > /dev/null")); // reads go through
        Assert.Equal(0, await Shell($"echo PermitRootLogin prohibit-password | tee {config} > /dev/null")); // an excluded writer
        Assert.Equal("PermitRootLogin prohibit-password\n", await File.ReadAllTextAsync(config));
        // The excluded program's name on another executable: a shell copied to .../tee, and the real tee's copy elsewhere.
        var decoys = Directory.CreateTempSubdirectory("decoy-").FullName;
        try
        {
            File.Copy("/bin/sh", Path.Combine(decoys, "tee"));
            File.SetUnixFileMode(Path.Combine(decoys, "tee"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Assert.NotEqual(0, await Shell($"{decoys}/tee -c 'echo PermitRootLogin yes > {config}'"));
            Assert.NotEqual(0, await Shell($"cp /usr/bin/tee {decoys}/copy && mkdir {decoys}/bin && mv {decoys}/copy {decoys}/bin/tee && echo PermitRootLogin yes | {decoys}/bin/tee {config}"));
            Assert.Equal("PermitRootLogin prohibit-password\n", await File.ReadAllTextAsync(config));
        }
        finally
        {
            Directory.Delete(decoys, recursive: true);
        }

        static async Task<int> Shell(string command)
        {
            using var shell = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh", ["-c", command]) { RedirectStandardError = true })!;
            await shell.StandardError.ReadToEndAsync();
            await shell.WaitForExitAsync();
            return shell.ExitCode;
        }
    }

    [Fact]
    public async Task A_rule_whose_glob_cannot_compile_is_left_out_and_the_other_rules_are_watched()
    {
        // One the api would refuse now, from an older server: it must not stop the watcher for every rule.
        var broken = Rule("broken", [new FimPath { Path = _root + "/[z-a]*.cfg" }], [FimOperation.Write]);
        broken.Exclusions = new FimExclusions { Paths = [_root + "/[]"] };
        var good = Rule("good", [new FimPath { Path = _root + "/*.cfg" }], [FimOperation.Write]);
        Watch(broken, good);

        var cfg = Path.Combine(_root, "a.cfg");
        await File.WriteAllTextAsync(cfg, "x");
        var alert = await Seen(cfg, FimOperation.Write);

        Assert.Equal(good.Id, alert.RuleId);
        Assert.All(_alerts, a => Assert.Equal(good.Id, a.RuleId));
    }

    [Fact]
    public void A_process_exclusion_matches_the_executable_the_kernel_names_not_a_name_the_process_chose()
    {
        var logs = Rule("logs", [new FimPath { Path = "/var/log/app", Recursive = true }]);
        logs.Exclusions = new FimExclusions { Processes = ["logrotate", "/usr/bin/gzip", "bin/relative"] };
        var matcher = new FimRuleMatcher([logs]);
        FimProcess Process(string name, string? executable) => new() { Pid = 42, Name = name, Executable = executable };

        Assert.Empty(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("logrotate", "/usr/sbin/logrotate"))); // a bare name: the system's program
        Assert.Empty(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("gzip", "/usr/bin/gzip")));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("vi", "/usr/bin/vi")));
        // A shell copied to another directory under the excluded name, a process that renamed itself, a container's own
        // /usr/sbin/logrotate as the host sees it, a process gone before it could be read, a relative path: none excluded.
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("logrotate", "/tmp/logrotate")));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("logrotate", "/usr/bin/dash")));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("logrotate", "/var/lib/docker/overlay2/3f1/merged/usr/sbin/logrotate")));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("logrotate", null)));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write, Process("relative", "/usr/bin/relative")));
        Assert.Single(matcher.Matching("/var/log/app/a.log", FimOperation.Write)); // process unknown: nothing to exclude by
        Assert.Empty(matcher.Matching("/var/log/other.log", FimOperation.Write));
    }

    [Fact]
    public void An_excluded_path_that_is_a_symlink_stands_for_the_file_it_resolves_to()
    {
        var link = Path.Combine(_root, "deploy-tool");
        File.CreateSymbolicLink(link, "/usr/bin/true");
        var target = new FileInfo("/usr/bin/true").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/usr/bin/true";
        var rule = Rule("linked", [new FimPath { Path = "/etc/app" }]);
        rule.Exclusions = new FimExclusions { Processes = [link] };
        var matcher = new FimRuleMatcher([rule]);

        Assert.Empty(matcher.Matching("/etc/app", FimOperation.Write, new FimProcess { Pid = 42, Name = "true", Executable = target }));
        Assert.Single(matcher.Matching("/etc/app", FimOperation.Write, new FimProcess { Pid = 42, Name = "true", Executable = "/usr/bin/false" }));
    }

    private void Watch(params FimRule[] rules) => Watch(null, rules);

    /// <summary>inotify alone (what every node has), unless <paramref name="attribute"/>: then fanotify too, where the agent may.</summary>
    private void Watch(OwnReads? ownReads, FimRule[] rules, bool attribute = false)
    {
        _watcher = new FimWatcher(rules, alerts => { foreach (var a in alerts) _alerts.Enqueue(a); }, TimeProvider.System, NullLogger.Instance, ownReads, attribute);
        _ = _watcher.RunAsync(_stop.Token);
    }

    private static FimRule Rule(string name, List<FimPath> paths, FimOperation[]? operations = null) => new()
    {
        Id = "fim_" + Guid.NewGuid().ToString("N"),
        Name = name,
        Enabled = true,
        Severity = FimSeverity.High,
        Scope = new FimScope { Hostnames = ["*"] },
        Paths = paths,
        Operations = operations ?? Every,
        Effect = FimEffect.Alert,
        Version = 1,
    };

    /// <summary>The alert for a path and action (the <paramref name="after"/>+1-th such one), once the watcher has reported it.</summary>
    private async Task<FimAlertReport> Seen(string path, FimOperation action, int after = 0)
    {
        FimAlertReport? found = null;
        await Until(() => (found = _alerts.Where(a => a.Path == path && a.Action == action).Skip(after).FirstOrDefault()) is not null, $"{action} of {path}");
        return found!;
    }

    private async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 20 s for {what}; alerts: {string.Join(", ", _alerts.Select(a => $"{a.Action} {a.Path}"))}");
            await Task.Delay(10);
        }
    }
}

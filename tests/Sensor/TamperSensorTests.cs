using System.Collections.Concurrent;
using System.Diagnostics;
using Platform.Agent.Sensor;
using Platform.Contracts;
using Platform.Tests.Enforcement;
using static Platform.Agent.Sensor.TamperSyscall;

namespace Platform.Tests.Sensor;

/// <summary>
/// The kernel sensor's tamper records (Bpf/tamper.bpf.h) on this machine's real kernel, as root: files this test makes
/// immutable or append-only itself (chattr; not the agent's enforcement), attacked by the techniques as an
/// unprivileged user that has write permission on them and as root. Each attempt is one record with the syscall, the
/// real process and user and the kernel's result; attempts on plain protected files are recorded with result 0; files
/// that are not protected give none. Each test looks only at the attempts on its own directory (the sensor sees the
/// machine).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(KernelSensorCollection.Name)]
public sealed class TamperSensorTests : IDisposable
{
    private const int Nobody = 65534;
    private readonly KernelSensorFixture _sensor;
    private readonly string _dir = Directory.CreateTempSubdirectory("tamper-").FullName;
    private readonly ConcurrentQueue<TamperAttempt> _attempts = new();

    public TamperSensorTests(KernelSensorFixture sensor)
    {
        _sensor = sensor;
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1FF); // 0777: the unprivileged user may create, rename, remove here
        _sensor.Tamper.Attempted += Record;
    }

    private string Key => Path.Combine(_dir, "server.key");
    private string Config => Path.Combine(_dir, "conf.d");
    private string ConfigFile => Path.Combine(Config, "app.conf");
    private string Log => Path.Combine(_dir, "audit.log");
    private string Staged => Path.Combine(_dir, "staged");

    private void Record(TamperAttempt attempt)
    {
        if (attempt.ProtectedPath.StartsWith(_dir + "/", StringComparison.Ordinal))
            _attempts.Enqueue(attempt);
    }

    public void Dispose()
    {
        _sensor.Tamper.Attempted -= Record;
        _sensor.Tamper.SetProtected([]);
        Run("root", $"chattr -R -i -a {_dir}").GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The table: (name, script run by sh with $K $C $F $L $S $D set, the records expected in order: syscall, what, errno).</summary>
    public static TheoryData<string, string> Techniques()
    {
        var data = new TheoryData<string, string>();
        foreach (var technique in Table.Keys)
        {
            data.Add(technique, "root");
            data.Add(technique, "nobody");
        }

        return data;
    }

    private const int EPerm = 1;

    /// <summary>
    /// Each technique and the records it makes against the immutable key ($K), the immutable config directory ($C and its
    /// file $F) and the append-only log ($L): the syscall, which protected path it hits, and the errno (0: it went
    /// through, as `>>` on the log does). A tool that tries more than one call makes one record per call (touch: the
    /// open, then utimensat).
    /// </summary>
    private static readonly Dictionary<string, (string Script, (TamperSyscall Syscall, char Target, int Errno)[] Records)> Table = new()
    {
        ["echo >"] = ("echo x > \"$K\"", [(OpenAt, 'K', EPerm)]),
        [">> key"] = ("echo x >> \"$K\"", [(OpenAt, 'K', EPerm)]),
        [">> log"] = ("echo x >> \"$L\"", [(OpenAt, 'L', 0)]),
        ["> log"] = ("echo x > \"$L\"", [(OpenAt, 'L', EPerm)]),
        ["sed -i"] = ("exec sed -i s/secret/owned/ \"$K\"", [(Rename, 'K', EPerm)]),
        ["ex"] = ("exec ex -s -n -c '%s/secret/owned/' -c 'wq!' \"$K\"", [(OpenAt, 'K', EPerm)]),
        ["cp over"] = ("exec cp \"$S\" \"$K\"", [(OpenAt, 'K', EPerm)]),
        ["mv -f over"] = ("exec mv -f \"$S\" \"$K\"", [(RenameAt, 'K', EPerm)]), // -f: renameat; without it mv tries renameat2(RENAME_NOREPLACE)
        ["rm"] = ("exec rm -f \"$K\"", [(UnlinkAt, 'K', EPerm)]),
        ["rm by a relative name"] = ("cd \"$C\" && exec rm -f app.conf", [(UnlinkAt, 'F', EPerm)]),
        ["ln -s, write through it"] = ("ln -s \"$K\" \"$D/innocent\" && echo x > \"$D/innocent\"", [(OpenAt, 'K', EPerm)]),
        ["ln (hard link)"] = ("exec ln \"$K\" \"$D/hard\"", [(LinkAt, 'K', EPerm)]),
        ["/proc/self/fd/N"] = ("exec 3<\"$K\"; echo x > /proc/self/fd/3", [(OpenAt, 'K', EPerm)]),
        ["truncate(2)"] = ("exec python3 -c 'import os,sys; os.truncate(sys.argv[1], 0)' \"$K\"", [(Truncate, 'K', EPerm)]),
        ["ftruncate (log)"] = ("exec python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND); os.ftruncate(fd, 0)' \"$L\"",
            [(OpenAt, 'L', 0), (Ftruncate, 'L', EPerm)]),
        ["open(O_TRUNC)"] = ("exec python3 -c 'import os,sys; os.open(sys.argv[1], os.O_RDONLY | os.O_TRUNC)' \"$K\"", [(OpenAt, 'K', EPerm)]),
        ["chmod"] = ("exec chmod 777 \"$K\"", [(FchmodAt, 'K', EPerm)]),
        ["chmod through a symlink"] = ("ln -s \"$K\" \"$D/link\" && exec chmod 777 \"$D/link\"", [(FchmodAt, 'K', EPerm)]),
        ["truncate -s 0"] = ("exec truncate -s 0 \"$K\"", [(OpenAt, 'K', EPerm)]), // coreutils opens, then would ftruncate
        ["chown"] = ("exec chown 65534:65534 \"$K\"", [(FchownAt, 'K', EPerm)]),
        ["touch -d"] = ("exec touch -d 2001-01-01 \"$K\"", [(OpenAt, 'K', EPerm), (UtimensAt, 'K', EPerm)]),
        ["dd conv=notrunc"] = ("exec dd if=\"$S\" of=\"$K\" conv=notrunc status=none", [(OpenAt, 'K', EPerm)]),
        ["python open('r+')"] = ("exec python3 -c 'import sys; open(sys.argv[1], \"r+\")' \"$K\"", [(OpenAt, 'K', EPerm)]),
        ["mmap write"] = ("exec python3 -c 'import mmap,os,sys; fd = os.open(sys.argv[1], os.O_RDWR); m = mmap.mmap(fd, 0); m[0:1] = b\"X\"' \"$K\"",
            [(OpenAt, 'K', EPerm)]),
        ["rename of the parent directory"] = ("exec mv \"$C\" \"$D/moved\"", [(RenameAt2, 'C', EPerm)]),
        ["new file in the protected directory"] = ("echo x > \"$C/new\"", [(OpenAt, 'C', EPerm)]),
        ["install -m"] = ("exec install -m 644 \"$S\" \"$K\"", [(UnlinkAt, 'K', EPerm)]),
        ["rm in the protected directory"] = ("exec rm -f \"$F\"", [(UnlinkAt, 'F', EPerm)]),
        ["mkdir in the protected directory"] = ("exec mkdir \"$C/sub\"", [(Mkdir, 'C', EPerm)]),
    };

    [Theory]
    [MemberData(nameof(Techniques))]
    public async Task Each_technique_on_immutable_and_append_only_files_is_recorded_once_per_call_with_the_process_and_EPERM(string technique, string user)
    {
        await Protect(immutable: true);
        var (script, expected) = Table[technique];

        var (pid, exit, error) = await Run(user, script);

        var attempts = await AttemptsOf(pid);
        var described = string.Join("\n", attempts.Select(Describe));
        Assert.True(expected.Length == attempts.Count, $"{technique} as {user} (exit {exit}: {error}) made:\n{described}");
        for (var i = 0; i < expected.Length; i++)
        {
            var (attempt, want) = (attempts[i], expected[i]);
            Assert.True((want.Syscall, PathOf(want.Target), want.Errno) == (attempt.Syscall, attempt.ProtectedPath, attempt.Errno), $"{technique} as {user}:\n{described}");
            Assert.Equal(user == "root" ? 0 : Nobody, attempt.Uid);
        }

        if (expected.Any(e => e.Errno != 0))
            Assert.NotEqual(0, exit); // the writer got an error
        Assert.Equal("secret\n", await File.ReadAllTextAsync(Key));
    }

    [Fact]
    public async Task Writes_to_a_plain_protected_file_by_name_symlink_hard_link_and_proc_fd_are_recorded_with_result_0()
    {
        await Protect(immutable: false);

        var (pid, exit, error) = await Run("root",
            "echo a > \"$K\"; ln -s \"$K\" \"$D/sym\"; echo b > \"$D/sym\"; ln \"$K\" \"$D/hard\"; echo c > \"$D/hard\"; exec 3<\"$K\"; echo d > /proc/self/fd/3; chmod 600 \"$K\"");

        Assert.True(exit == 0, error);
        var attempts = await AttemptsOf(pid);
        Assert.Equal([OpenAt, OpenAt, LinkAt, OpenAt, OpenAt, FchmodAt], attempts.Select(a => a.Syscall));
        Assert.All(attempts, a => Assert.Equal((0, Key, TamperTarget.Inode, 0L), (a.Errno, a.ProtectedPath, a.Match, a.Uid)));
        Assert.Equal([Key, Path.Combine(_dir, "sym"), Key, Path.Combine(_dir, "hard"), "/proc/self/fd/3", Key], attempts.Select(a => a.Path));
        Assert.Equal(["sh", "sh", "ln", "sh", "sh", "chmod"], attempts.Select(a => a.Comm));
        Assert.Equal(TamperOperation.Truncate, attempts[0].Operation); // > opens with O_TRUNC
        Assert.Equal(Convert.ToUInt32("600", 8), attempts[5].Mode);
    }

    [Fact]
    public async Task A_rename_over_a_plain_protected_file_and_its_removal_are_recorded_by_its_name()
    {
        await Protect(immutable: false);
        var original = _sensor.Tamper.ByPath[Key].Key;

        var (pid, exit, error) = await Run("root", "mv -f \"$S\" \"$K\" && rm \"$K\"");

        Assert.True(exit == 0, error);
        var attempts = await AttemptsOf(pid);
        Assert.Equal([(TamperOperation.Rename, TamperTarget.Name), (TamperOperation.Remove, TamperTarget.Name)], attempts.Select(a => (a.Operation, a.Match)));
        Assert.All(attempts, a => Assert.Equal((0, Key, original), (a.Errno, a.ProtectedPath, (InodeKey?)a.Target)));
        Assert.Equal((Staged, Key), (attempts[0].Path, attempts[0].Path2));
        Assert.Equal(("mv", "rm"), (attempts[0].Comm, attempts[1].Comm));
    }

    [Fact]
    public async Task Root_clearing_the_immutable_attribute_is_recorded_with_the_new_flags_and_nobody_trying_is_refused()
    {
        await Protect(immutable: true);

        var (refusedPid, refusedExit, _) = await Run("nobody", "exec chattr -i \"$K\"");
        var (pid, exit, error) = await Run("root", "exec chattr -i \"$K\"");

        Assert.True(exit == 0, error);
        Assert.NotEqual(0, refusedExit);
        var refused = Assert.Single(await AttemptsOf(refusedPid));
        Assert.Equal((SetFlags, TamperOperation.Attributes, EPerm, (long)Nobody, true), (refused.Syscall, refused.Operation, refused.Errno, refused.Uid, refused.ClearsImmutable));
        var cleared = Assert.Single(await AttemptsOf(pid));
        Assert.Equal((SetFlags, 0, 0L, Key, "chattr", true), (cleared.Syscall, cleared.Errno, cleared.Uid, cleared.ProtectedPath, cleared.Comm, cleared.ClearsImmutable));
        Assert.Equal(0u, cleared.NewInodeFlags!.Value & TamperAttempt.ImmutableFlag);
        Assert.NotNull(cleared.Fd);
    }

    [Fact]
    public async Task A_file_taken_out_of_the_protected_set_is_no_longer_recorded_and_one_put_back_is()
    {
        await Protect(immutable: false);
        var (first, _, _) = await Run("root", "echo a > \"$K\"");
        Assert.Single(await AttemptsOf(first));

        Assert.Equal(3, _sensor.Tamper.SetProtected([Config, ConfigFile, Log]));
        var (second, _, _) = await Run("root", "echo b > \"$K\"; echo c >> \"$L\"");
        var after = await AttemptsOf(second);

        Assert.Equal(Log, Assert.Single(after).ProtectedPath); // the log's append is seen: the key's write was not
        Assert.Equal(4, _sensor.Tamper.SetProtected([Key, Config, ConfigFile, Log]));
        var (third, _, _) = await Run("root", "echo d > \"$K\"");
        Assert.Equal(Key, Assert.Single(await AttemptsOf(third)).ProtectedPath);
    }

    [Fact]
    public async Task Files_that_are_not_protected_give_no_record_even_with_a_protected_files_name()
    {
        await Protect(immutable: false);
        var other = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        File.SetUnixFileMode(other, (UnixFileMode)0x1FF);

        // Same names as the protected files (the kernel's name filter lets them through; the agent drops them), then plain ones.
        var (pid, exit, error) = await Run("root",
            $"cd {other} && echo x > server.key && chmod 600 server.key && ln server.key app.conf && mv app.conf audit.log && touch -d 2001-01-01 audit.log && rm server.key audit.log"
            + " && echo y > plain && truncate -s 0 plain && rm plain && mkdir conf.d && rmdir conf.d && chmod 700 \"$D\"/staged");

        Assert.True(exit == 0, error);
        await _sensor.WaitFor<ProcessExitEvent>(e => e.Pid == pid, "the shell's exit");
        Assert.Empty(_attempts);
    }

    // io_uring (Bpf/uring.bpf.h): requests submitted through a ring do not go through the syscalls above; tamper.c
    // ($X) submits them without liburing, each alone and waited for.

    [Theory]
    [InlineData("uring", "root")]
    [InlineData("uring", "nobody")]
    [InlineData("uring-async", "root")] // run by an io-wq worker: still the submitter's record
    [InlineData("uring-async", "nobody")]
    public async Task An_io_uring_open_for_writing_of_an_immutable_file_is_one_record_of_the_submitter_with_EPERM(string how, string user)
    {
        await Protect(immutable: true);

        var (pid, exit, error) = await Run(user, $"exec \"$X\" {how} \"$K\"");

        Assert.True(exit == EPerm, $"exit {exit}: {error}");
        var attempt = Assert.Single(await AttemptsOf(pid));
        Assert.Equal((UringOpenAt, TamperOperation.Write, EPerm, Key, Key, TamperTarget.Inode), (attempt.Syscall, attempt.Operation, attempt.Errno, attempt.ProtectedPath, attempt.Path, attempt.Match));
        Assert.Equal((pid, pid, user == "root" ? 0L : Nobody, "tamper"), (attempt.Pid, attempt.ThreadId, attempt.Uid, attempt.Comm));
        Assert.Equal("secret\n", await File.ReadAllTextAsync(Key));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("nobody")]
    public async Task An_io_uring_write_the_append_only_attribute_refuses_is_one_record_with_EPERM(string user)
    {
        await Protect(immutable: true);

        var (pid, exit, error) = await Run(user, "exec \"$X\" uring-noappend \"$L\""); // opens for appending, writes without

        Assert.True(exit == EPerm, $"exit {exit}: {error}");
        var attempts = await AttemptsOf(pid);
        Assert.Equal([(OpenAt, 0), (UringWrite, EPerm)], attempts.Select(a => (a.Syscall, a.Errno)));
        Assert.All(attempts, a => Assert.Equal((Log, pid, user == "root" ? 0L : Nobody), (a.ProtectedPath, a.Pid, a.Uid)));
        Assert.Equal((TamperOperation.Write, TamperTarget.Inode, null), (attempts[1].Operation, attempts[1].Match, attempts[1].Path));
        Assert.Equal("line\n", await File.ReadAllTextAsync(Log));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("nobody")]
    public async Task An_io_uring_open_and_write_of_a_plain_protected_file_go_through_and_are_recorded_with_result_0(string user)
    {
        await Protect(immutable: false);

        var (pid, exit, error) = await Run(user, "exec \"$X\" uring \"$K\"");

        Assert.True(exit == 0, error);
        var attempts = await AttemptsOf(pid);
        Assert.Equal([(UringOpenAt, TamperTarget.Inode), (UringWrite, TamperTarget.Inode)], attempts.Select(a => (a.Syscall, a.Match)));
        Assert.All(attempts, a => Assert.Equal((0, Key, pid, user == "root" ? 0L : Nobody, "tamper"), (a.Errno, a.ProtectedPath, a.Pid, a.Uid, a.Comm)));
        Assert.Equal(Key, attempts[0].Path);
        Assert.NotNull(attempts[0].Fd); // the fd the open installed
        Assert.Equal("tampered by io_uring\n", await File.ReadAllTextAsync(Key));
    }

    [Fact]
    public async Task An_io_uring_read_of_a_protected_file_is_not_recorded()
    {
        await Protect(immutable: true);

        var (pid, exit, error) = await Run("nobody", "exec \"$X\" uring-read \"$K\"");

        Assert.True(exit == 0, error);
        Assert.Empty(await AttemptsOf(pid));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("nobody")]
    public async Task A_ring_made_by_one_process_and_used_by_its_child_is_attributed_to_the_child(string childUser)
    {
        await Protect(immutable: true);

        // root makes the ring and forks; the child (nobody, or root) submits on it, the open run by an io-wq worker.
        var (pid, exit, error) = await Run("root", $"exec \"$X\" uring-fork \"$K\" {childUser}");

        Assert.True(exit == EPerm, $"exit {exit}: {error}");
        var attempt = Assert.Single(await AttemptsOf(pid));
        Assert.Equal((UringOpenAt, EPerm, Key), (attempt.Syscall, attempt.Errno, attempt.ProtectedPath));
        Assert.NotEqual(pid, attempt.Pid); // not the ring's maker
        Assert.Equal((pid, childUser == "root" ? 0L : Nobody, "tamper"), (attempt.Ppid, attempt.Uid, attempt.Comm));
    }

    /// <summary>
    /// Makes the key, the config directory with its file, the log and a staged file, all writable by the unprivileged
    /// user; with <paramref name="immutable"/> the key, the file and the directory +i and the log +a; then protects them.
    /// </summary>
    private async Task Protect(bool immutable)
    {
        Directory.CreateDirectory(Config);
        await File.WriteAllTextAsync(Key, "secret\n");
        await File.WriteAllTextAsync(ConfigFile, "port=1\n");
        await File.WriteAllTextAsync(Log, "line\n");
        await File.WriteAllTextAsync(Staged, "owned\n");
        foreach (var file in new[] { Key, ConfigFile, Log, Staged })
            File.SetUnixFileMode(file, (UnixFileMode)0x1B6); // 0666
        File.SetUnixFileMode(Config, (UnixFileMode)0x1FF);
        if (immutable)
        {
            var (_, exit, error) = await Run("root", $"chattr +i \"$K\" \"$F\" \"$C\" && chattr +a \"$L\"");
            Assert.True(exit == 0, error);
        }

        Assert.Equal(4, _sensor.Tamper.SetProtected([Key, Config, ConfigFile, Log]));
    }

    private string PathOf(char target) => target switch { 'K' => Key, 'C' => Config, 'F' => ConfigFile, _ => Log };

    /// <summary>The attempts on this test's files made by the process <paramref name="pid"/> and its children, once it has exited (its exit record follows them).</summary>
    private async Task<List<TamperAttempt>> AttemptsOf(int pid)
    {
        await _sensor.WaitFor<ProcessExitEvent>(e => e.Pid == pid, $"the exit of {pid}");
        return [.. _attempts.Where(a => a.Pid == pid || a.Ppid == pid)];
    }

    private static string Describe(TamperAttempt a) =>
        $"{a.Syscall} {a.Operation} errno={a.Errno} {a.Match} {a.ProtectedPath} path={a.Path} path2={a.Path2} pid={a.Pid} comm={a.Comm} uid={a.Uid}";

    /// <summary>Runs sh -c <paramref name="script"/> as root or as nobody (setpriv execs sh: the pid is the shell's), with the test's paths and the C helper tamper.c ($X) in the environment.</summary>
    private async Task<(int Pid, int Exit, string Error)> Run(string user, string script)
    {
        var start = new ProcessStartInfo(user == "root" ? "sh" : "setpriv") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = _dir };
        if (user != "root")
        {
            foreach (var arg in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", "--clear-groups", "sh" })
                start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var (name, value) in new[] { ("K", Key), ("C", Config), ("F", ConfigFile), ("L", Log), ("S", Staged), ("D", _dir), ("X", Shell.Tamper) })
            start.Environment[name] = value;
        start.Environment["HOME"] = _dir;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await output;
        return (process.Id, process.ExitCode, await error);
    }
}

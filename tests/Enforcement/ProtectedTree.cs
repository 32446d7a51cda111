using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent;
using Platform.Agent.Enforcement;
using Platform.Contracts;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Enforcement;

/// <summary>
/// A tree of files like the issue's: a private key (<c>ssl/secret.key</c>, a prevent rule on the file), a configuration
/// directory (<c>conf/</c>, recursive, with <c>app.cfg</c> and <c>sub/extra.cfg</c>) and an append-only log directory
/// (<c>logs/</c>, recursive, <c>allowAppend</c>, with <c>app.log</c>); a scratch directory beside them for what a tamperer
/// stages. Every file and directory belongs to <see cref="Nobody"/> with write permission for it, as on a host with
/// bad file permissions. The root is unique (and, for <see cref="OnRamfs"/>, a ramfs mounted for the test); Dispose
/// gives back and removes everything, whatever a technique left.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProtectedTree : IDisposable
{
    public const int Nobody = 65534;

    private readonly bool _mounted;

    public ProtectedTree(bool onRamfs = false)
    {
        Root = Path.Combine(Path.GetTempPath(), "enforcement-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        if (onRamfs)
        {
            Shell.Run("mount", "-t", "ramfs", "ramfs", Root).Succeeded("mount a ramfs");
            _mounted = true;
        }

        File.SetUnixFileMode(Root, (UnixFileMode)0b111_101_101);
        State = Path.Combine(Root, "agent-state");
        Directory.CreateDirectory(State);
        foreach (var directory in new[] { KeyDirectory, Config, Path.Combine(Config, "sub"), Logs, Scratch })
            Directory.CreateDirectory(directory);
        File.WriteAllText(Key, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n");
        File.WriteAllText(ConfigFile, "db.password=hunter2\n");
        File.WriteAllText(Path.Combine(Config, "sub", "extra.cfg"), "feature=off\n");
        File.WriteAllText(Log, "2026-12-04T23:00:00Z login root\n");
        File.WriteAllText(Path.Combine(Scratch, "staged"), "staged by the tamperer\n");
        foreach (var entry in new[] { Root, KeyDirectory, Key, Config, ConfigFile, Path.Combine(Config, "sub"), Path.Combine(Config, "sub", "extra.cfg"), Logs, Log, Scratch, Path.Combine(Scratch, "staged") })
        {
            File.SetUnixFileMode(entry, Directory.Exists(entry) ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100);
            Shell.Run("chown", $"{Nobody}:{Nobody}", entry).Succeeded("chown");
        }

        Paths();
        Rules = [KeyRule, ConfigRule, LogRule];
    }

    public static ProtectedTree OnRamfs() => new(onRamfs: true);

    public string Root { get; }

    public string State { get; }

    public string KeyDirectory => Path.Combine(Root, "ssl");

    public string Key => Path.Combine(KeyDirectory, "secret.key");

    public string Config => Path.Combine(Root, "conf");

    public string ConfigFile => Path.Combine(Config, "app.cfg");

    public string Logs => Path.Combine(Root, "logs");

    public string Log => Path.Combine(Logs, "app.log");

    public string Scratch => Path.Combine(Root, "scratch");

    public FimRule KeyRule { get; } = Rule("private-key", [FimOperation.Write, FimOperation.Delete, FimOperation.Rename, FimOperation.Metadata]);

    public FimRule ConfigRule { get; } = Rule("app-config", [FimOperation.Write, FimOperation.Create, FimOperation.Delete, FimOperation.Rename, FimOperation.Metadata]);

    public FimRule LogRule { get; } = Rule("audit-logs", [FimOperation.Write, FimOperation.Delete, FimOperation.Rename], allowAppend: true);

    public List<FimRule> Rules { get; }

    /// <summary>The three rules with their paths in this tree.</summary>
    private void Paths()
    {
        KeyRule.Paths = [new FimPath { Path = Key }];
        ConfigRule.Paths = [new FimPath { Path = Config, Recursive = true }];
        LogRule.Paths = [new FimPath { Path = Logs, Recursive = true }];
    }

    /// <summary>An enforcement on this tree's own state directory (its own ledger).</summary>
    public InodeAttributeEnforcement Enforcement(EnforcementOptions? options = null) =>
        new InodeAttributeEnforcement(new EnforcementLedger(State, NullLogger.Instance), options ?? new EnforcementOptions(), NullLogger.Instance);

    public static FimRule Rule(string name, FimOperation[] operations, bool allowAppend = false, FimEffect effect = FimEffect.Prevent) => new()
    {
        Id = "fim_" + Guid.NewGuid().ToString("N"),
        Name = name,
        Enabled = true,
        Severity = FimSeverity.Critical,
        Scope = new FimScope { Hostnames = ["*"] },
        Paths = [],
        Operations = operations,
        Effect = effect,
        AllowAppend = allowAppend,
        Version = 1,
    };

    /// <summary>The inode's attributes now (immutable, append-only and nodump; not those the filesystem sets by itself, like extents).</summary>
    public static InodeFlag Flags(string path)
    {
        var stat = InodeFlags.Stat(path, out var error) ?? throw new IOException($"statx {path}: errno {error}");
        using var fd = InodeFlags.Open(path, stat, out error) ?? throw new IOException($"open {path}: errno {error}");
        return (InodeFlag)((InodeFlags.Get(fd, out error) ?? throw new IOException($"FS_IOC_GETFLAGS {path}: errno {error}")) & 0x70);
    }

    public void Dispose()
    {
        // Whatever a technique or a failed assertion left protected: cleared by hand, so that the tree can go.
        Shell.Run("chattr", "-R", "-i", "-a", Root);
        if (_mounted)
            Shell.Run("umount", "-l", Root);
        if (Directory.Exists(Root))
            Directory.Delete(Root, recursive: true);
    }
}

/// <summary>A command, as root or as <see cref="ProtectedTree.Nobody"/> (setpriv: no groups, no capabilities), with what it said.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class Shell
{
    public sealed record Result(int ExitCode, string Output)
    {
        public Result Succeeded(string what)
        {
            Assert.True(ExitCode == 0, $"{what}: exit code {ExitCode}: {Output}");
            return this;
        }
    }

    public static Result Run(string program, params string[] args) => Start(program, args, null);

    /// <summary><c>sh -c</c> <paramref name="command"/> in <paramref name="directory"/>, as root or as nobody.</summary>
    public static Result Sh(string command, bool asNobody, string directory)
    {
        string[] user = asNobody ? ["setpriv", $"--reuid={ProtectedTree.Nobody}", $"--regid={ProtectedTree.Nobody}", "--clear-groups", "--inh-caps=-all", "--"] : [];
        string[] line = [.. user, "/bin/sh", "-c", command];
        return Start(line[0], line[1..], directory);
    }

    private static Result Start(string program, string[] args, string? directory)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (directory is not null)
            start.WorkingDirectory = directory;
        start.Environment["HOME"] = "/nonexistent";
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result + error);
    }

    /// <summary>
    /// The C helper of tamper.c, compiled once per source (the directory is named after its SHA-256, so runs share it and
    /// none leaves another behind), where anyone may run it.
    /// </summary>
    public static string Tamper => LazyTamper.Value;

    private static readonly Lazy<string> LazyTamper = new(() =>
    {
        var source = Path.Combine(Repository.Root, "tests", "Enforcement", "tamper.c");
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(source)))[..16];
        var directory = Path.Combine(Path.GetTempPath(), "enforcement-tamper-" + hash);
        var binary = Path.Combine(directory, "tamper");
        if (File.Exists(binary))
            return binary;
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101);
        var building = binary + "." + Environment.ProcessId;
        Run("clang-14", "-O2", "-Wall", "-Werror", "-o", building, source).Succeeded("compile tamper.c with clang-14");
        File.Move(building, binary, overwrite: true);
        return binary;
    });
}

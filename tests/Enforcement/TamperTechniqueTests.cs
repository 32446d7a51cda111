using Platform.Agent.Enforcement;

namespace Platform.Tests.Enforcement;

/// <summary>
/// The table of tamper techniques against the inode attributes the agent sets (real kernel, as root): each run
/// as an unprivileged user who owns the files and may write them, and again as root, against a prevent rule on a key
/// file, a configuration directory and an append-only log directory. Refused: the file is unchanged (bytes, mode,
/// owner, times) and its directory too, and the tamperer got an error (the C helper: EPERM itself). On a ramfs, which
/// has no such attributes, every technique goes through and the enforcement says why it could not refuse it.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TamperTechniqueTests
{
    public enum Target { Key, Config, Log }

    /// <summary>Refused: nothing changes. Allowed: the technique goes through (an append to a log, a new log file).</summary>
    public enum Outcome { Refused, Allowed }

    /// <summary>
    /// {T} the protected file, {D} the directory the rule protects (the key's own directory for the key rule, which the
    /// key rule does not protect), {S} a scratch directory beside it, {X} the C helper (tamper.c).
    /// </summary>
    internal static readonly (string Name, string Command, Outcome Key, Outcome Config, Outcome Log)[] Techniques =
    [
        ("echo >", "echo tampered > {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("echo >>", "echo appended >> {T}", Outcome.Refused, Outcome.Refused, Outcome.Allowed),
        ("sed -i", "sed -i s/^/x/ {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("ex", "ex -s -u NONE -i NONE -n -c '%s/^/x/' -c 'wq!' {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("cp over", "cp {S}/staged {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("mv -f over", "mv -f {S}/staged {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("rm", "rm -f {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("ln -s then write", "ln -s {T} {S}/link && echo tampered > {S}/link", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("ln (hard link)", "ln {T} {S}/hard", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("write through /proc/self/fd/N", "{X} procfd {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("truncate(2)", "{X} truncate {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("ftruncate", "{X} ftruncate {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("open O_TRUNC", "{X} otrunc {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("truncate -s 0", "truncate -s 0 {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("chmod", "chmod 777 {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("chown", "chown $(id -u) {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("touch -d", "touch -d 2001-01-01 {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("dd conv=notrunc", "echo tampered | dd of={T} conv=notrunc status=none", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("python open r+", "/usr/bin/python3 -c \"open('{T}', 'r+').write('X')\"", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("mmap write", "{X} mmap {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        // The key rule protects the key, not its directory (that would freeze every file beside it): the directory can be
        // renamed, the key's inode stays as it was (a sensor alert sees the rename). The directories the rules name cannot.
        ("rename of the parent directory", "mv {D} {D}.moved", Outcome.Allowed, Outcome.Refused, Outcome.Refused),
        // A new file in the log directory is a new log (append-only once the agent looks again); in the configuration directory it is refused.
        ("new file in the directory", "echo new > {D}/new.file", Outcome.Allowed, Outcome.Refused, Outcome.Allowed),
        ("install -m", "install -m 0666 {S}/staged {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("io_uring write", "{X} uring {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("mv away", "mv {T} {S}/moved", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("tee", "echo tampered | tee {T}", Outcome.Refused, Outcome.Refused, Outcome.Refused),
        ("rename(2) over", "{X} rename-over {T} {S}/staged", Outcome.Refused, Outcome.Refused, Outcome.Refused),
    ];

    public static TheoryData<string, Target, bool> Cases()
    {
        var cases = new TheoryData<string, Target, bool>();
        foreach (var technique in Techniques)
        {
            foreach (var target in Enum.GetValues<Target>())
            {
                cases.Add(technique.Name, target, true);
                cases.Add(technique.Name, target, false);
            }
        }

        return cases;
    }

    [Fact]
    public void The_table_has_at_least_24_techniques() => Assert.True(Techniques.Length >= 24, $"{Techniques.Length} techniques");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_technique_is_refused_by_the_kernel_where_the_rule_says_so(string name, Target target, bool asNobody)
    {
        using var tree = new ProtectedTree();
        var report = tree.Enforcement().Apply(tree.Rules, new Dictionary<string, DateTimeOffset>(), DateTimeOffset.UtcNow);
        Assert.Empty(report.Unsupported);
        var technique = Techniques.Single(t => t.Name == name);
        var expected = target switch { Target.Key => technique.Key, Target.Config => technique.Config, _ => technique.Log };
        var (file, directory) = Where(tree, target);
        var before = Snapshot(file, directory);

        var result = Shell.Sh(Command(technique.Command, tree, file, directory), asNobody, tree.Scratch);

        if (expected == Outcome.Refused)
        {
            Assert.True(result.ExitCode != 0, $"'{name}' went through on the {target}: {result.Output}");
            if (technique.Command.StartsWith("{X}", StringComparison.Ordinal))
                Assert.True(result.ExitCode == 1, $"'{name}' on the {target}: the kernel's answer was errno {result.ExitCode}, not EPERM: {result.Output}");
            var after = Snapshot(file, directory);
            Assert.Equal(before with { Entries = "" }, after with { Entries = "" });
            if (target == Target.Log)
            {
                // An append-only directory lets entries be made (a new log; a failed sed -i leaves its temporary file there,
                // which it cannot remove), never removed or renamed.
                Assert.Subset(after.Entries.Split(',').ToHashSet(), before.Entries.Split(',').ToHashSet());
            }
            else
            {
                Assert.Equal(before.Entries, after.Entries);
            }

            return;
        }

        Assert.True(result.ExitCode == 0, $"'{name}' on the {target} should go through: {result.Output}");
        switch (name)
        {
            case "echo >>":
                Assert.Equal(before.Content + "appended\n", File.ReadAllText(file));
                break;
            case "rename of the parent directory":
                var moved = Path.Combine(directory + ".moved", Path.GetFileName(file));
                Assert.Equal(before with { Entries = "" }, Snapshot(moved, null));
                Assert.Equal(InodeFlag.Immutable, ProtectedTree.Flags(moved) & InodeFlag.Immutable);
                break;
            default:
                Assert.Equal(before with { Entries = "" }, Snapshot(file, null));
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void On_a_filesystem_without_the_attributes_each_technique_goes_through_and_the_enforcement_says_why(string name, Target target, bool asNobody)
    {
        using var tree = ProtectedTree.OnRamfs();
        var enforcement = tree.Enforcement();
        var report = enforcement.Apply(tree.Rules, new Dictionary<string, DateTimeOffset>(), DateTimeOffset.UtcNow);
        var (file, directory) = Where(tree, target);
        Assert.Equal("ramfs has no immutable attribute", report.Unsupported[file]);
        Assert.Equal("ramfs has no immutable attribute", enforcement.Unsupported(file, Platform.Contracts.FimOperation.Write));
        Assert.Contains("ramfs has no immutable attribute", enforcement.Reason);
        Assert.Equal(0, report.Protected);
        var technique = Techniques.Single(t => t.Name == name);

        var result = Shell.Sh(Command(technique.Command, tree, file, directory), asNobody, tree.Scratch);

        Assert.True(result.ExitCode == 0, $"'{name}' on the {target} on ramfs: {result.Output}");
    }

    internal static (string File, string Directory) Where(ProtectedTree tree, Target target) => target switch
    {
        Target.Key => (tree.Key, tree.KeyDirectory),
        Target.Config => (tree.ConfigFile, tree.Config),
        _ => (tree.Log, tree.Logs),
    };

    internal static string Command(string template, ProtectedTree tree, string file, string directory) => template
        .Replace("{T}", file, StringComparison.Ordinal).Replace("{D}", directory, StringComparison.Ordinal)
        .Replace("{S}", tree.Scratch, StringComparison.Ordinal).Replace("{X}", Shell.Tamper, StringComparison.Ordinal);

    private sealed record State(string Content, UnixFileMode Mode, string Owner, DateTime Modified, string Entries);

    /// <summary>The file's bytes, mode, owner and time, and (when given) the entries of its directory.</summary>
    private static State Snapshot(string file, string? directory)
    {
        var info = new FileInfo(file);
        var owner = Shell.Run("stat", "-c", "%u:%g", file).Succeeded("stat").Output.Trim();
        var entries = directory is null ? "" : string.Join(",", Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        return new State(File.ReadAllText(file), info.UnixFileMode, owner, info.LastWriteTimeUtc, entries);
    }
}

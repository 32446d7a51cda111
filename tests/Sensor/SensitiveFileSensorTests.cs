using System.Diagnostics;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Sensor;

/// <summary>
/// Reads of sensitive files (the default sensitive paths) reported by the kernel sensor with no FIM rule, by the real
/// path of the file opened however it was named: directly, through a symlink, through a hard link, by a relative name.
/// </summary>
[Collection(KernelSensorCollection.Name)]
public sealed class SensitiveFileSensorTests(KernelSensorFixture sensor) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sensitive-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_sensitive_files_that_exist_are_in_the_kernels_map() => Assert.InRange(sensor.State.SensitiveFiles ?? 0, 1, 65536);

    [Fact]
    public async Task Cat_of_etc_shadow_is_a_read_with_no_fim_rule()
    {
        var pid = await Cat("/etc/shadow");

        var read = await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "cat's read of /etc/shadow");
        Assert.Equal(("/etc/shadow", FimOperation.Read, "cat"), (read.Path, read.Operation, read.ProcessName));
    }

    [Fact]
    public async Task Etc_shadow_read_through_a_symlink_is_reported_by_its_real_path()
    {
        var link = Path.Combine(_directory, "innocent");
        File.CreateSymbolicLink(link, "/etc/shadow");
        var pid = await Cat(link);

        Assert.Equal("/etc/shadow", (await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "the read through the symlink")).Path);
    }

    [Fact]
    public async Task Etc_shadow_read_through_a_hard_link_is_reported_as_etc_shadow()
    {
        var link = Path.Combine(_directory, "innocent");
        await Run("ln", ["/etc/shadow", link]); // a hard link is on the same filesystem: /tmp is, on this machine kind
        var pid = await Cat(link);

        Assert.Equal("/etc/shadow", (await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "the read through the hard link")).Path);
    }

    [Fact]
    public async Task Etc_shadow_read_by_a_relative_name_is_reported_by_its_real_path()
    {
        var pid = await Run("cat", ["./shadow"], workingDirectory: "/etc");

        Assert.Equal("/etc/shadow", (await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "the read by a relative name")).Path);
    }

    [Fact]
    public async Task A_file_that_is_not_sensitive_is_not_reported()
    {
        var plain = Path.Combine(_directory, "notes.txt");
        await File.WriteAllTextAsync(plain, "nothing");
        // One cat reads the plain file, then a sensitive one: once the second is seen, the first would have been too.
        var pid = await Run("cat", [plain, "/etc/shadow"]);

        await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid && e.Path == "/etc/shadow", "the sensitive read after it");
        Assert.Empty(sensor.Seen<FileAccessEvent>(e => e.Path == plain));
    }

    [Fact]
    public async Task A_new_file_matching_a_double_star_glob_is_reported_as_it_is_opened()
    {
        var pem = Path.Combine(_directory, "x.pem"); // /**/*.pem: made after the sensor started, never scanned
        await File.WriteAllTextAsync(pem, "-----BEGIN PRIVATE KEY-----");
        var pid = await Cat(pem);

        var read = await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "cat's read of the new .pem");
        Assert.Equal((pem, FimOperation.Read), (read.Path, read.Operation));
    }

    [Fact]
    public async Task A_sensitive_file_made_later_is_found_by_the_refresh_and_its_hard_link_reported_by_its_name()
    {
        var secret = Path.Combine(sensor.Later, $"{Guid.NewGuid():N}.cfg");
        await File.WriteAllTextAsync(secret, "password=1");
        var link = Path.Combine(_directory, "copy"); // a name no glob gives the kernel: only the inode can tell
        await Run("ln", [secret, link]);
        await Platform.Tests.Agent.AgentTestSupport.Until(() => sensor.Sensitive.Watched.Values.Contains(secret), "the refresh to find the new file");
        var pid = await Cat(link);

        var read = await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "the read through the hard link");
        Assert.Equal((secret, FimOperation.Read), (read.Path, read.Operation));
    }

    [Fact]
    public async Task A_sensitive_file_opened_for_writing_is_a_write()
    {
        var pem = Path.Combine(_directory, "y.pem");
        var shell = await Run("sh", ["-c", $"echo key > {pem}"]);

        var write = await sensor.WaitFor<FileAccessEvent>(e => e.Pid == shell, "the shell's write of the .pem");
        Assert.Equal((pem, FimOperation.Write), (write.Path, write.Operation));
    }

    [Fact]
    public async Task A_new_file_under_a_directory_named_by_a_double_star_glob_is_reported_as_it_is_opened()
    {
        var deep = Directory.CreateDirectory(Path.Combine(_directory, ".azure", "profiles", "work")).FullName; // /**/.azure/**, three levels up
        var token = Path.Combine(deep, "tokens.json");
        await File.WriteAllTextAsync(token, "{}");
        var pid = await Cat(token);

        var read = await sensor.WaitFor<FileAccessEvent>(e => e.Pid == pid, "cat's read under .azure");
        Assert.Equal((token, FimOperation.Read), (read.Path, read.Operation));
    }

    [Fact]
    public void The_kernel_looks_up_only_names_of_the_lengths_the_sensitive_names_have()
    {
        var config = sensor.Kernel.ReadConfig();

        Assert.Equal(SensorConfig.NameLengths, config.Flags & SensorConfig.NameLengths);
        Assert.Equal(1UL << ".ssh".Length | 1UL << ".azure".Length | 1UL << "secrets".Length, config.DirectoryLengths); // gcloud: 6, as .azure
        Assert.Equal(1UL << ".pem".Length, config.ExtensionLengths); // .pem, .key and the fixture's .cfg
        Assert.Equal(0UL, config.BasenameLengths & (1UL << 3 | 1UL << 4)); // no 3- or 4-byte basename: lib, usr, ld.so... are not looked up
        Assert.NotEqual(0UL, config.BasenameLengths & 1UL << "shadow".Length);
        Assert.Equal((uint)Environment.ProcessId, config.AgentTgid);
    }

    private static Task<int> Cat(string path) => Run("cat", [path]);

    private static async Task<int> Run(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        await output;
        return process.Id;
    }
}

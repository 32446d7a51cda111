using Platform.Agent.Sensor;

namespace Platform.Tests.Sensor;

/// <summary>How the sensitive paths become what the kernel looks up when a file is opened (no kernel needed).</summary>
public sealed class SensitiveFilesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sensitive-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("/etc/shadow", NameKind.Basename, "shadow")]
    [InlineData("/**/.aws/credentials", NameKind.Basename, "credentials")]
    [InlineData("/**/*.pem", NameKind.Extension, ".pem")]
    [InlineData("/root/.ssh/*", NameKind.Directory, ".ssh")]
    [InlineData("/home/*/.ssh/id_*", NameKind.Directory, ".ssh")]
    [InlineData("/**/.config/gcloud/**", NameKind.Directory, "gcloud")]
    [InlineData("/**/.azure/**", NameKind.Directory, ".azure")]
    [InlineData("/run/secrets/**", NameKind.Directory, "secrets")]
    public void Each_glob_gives_the_kernel_a_name_to_look_files_up_by(string glob, NameKind kind, string name) =>
        Assert.Equal(new NameKey(kind, name), SensitiveFiles.NameOf(glob));

    [Theory]
    [InlineData("/**/*")]
    [InlineData("/**/a*b")]
    public void A_glob_with_no_fixed_name_gives_none(string glob) => Assert.Null(SensitiveFiles.NameOf(glob));

    [Fact]
    public void Every_default_sensitive_path_has_a_name_the_kernel_can_look_up() =>
        Assert.All(Platform.Contracts.SensitivePaths.Defaults, glob => Assert.NotNull(SensitiveFiles.NameOf(glob)));

    [Theory]
    [InlineData("etc/shadow", "must be an absolute path")]
    [InlineData("/srv/[z-a]", "reversed range")]
    public void A_sensitive_path_that_cannot_be_used_is_a_problem_at_start_naming_the_setting(string path, string why)
    {
        var problem = new SensorOptions { SensitivePaths = [path] }.Problem();
        Assert.Contains("Platform:Agent:Sensor:SensitivePaths", problem, StringComparison.Ordinal);
        Assert.Contains(why, problem, StringComparison.Ordinal);
        Assert.Null(new SensorOptions().Problem());
        Assert.Equal(Platform.Contracts.SensitivePaths.Defaults, new SensorOptions().SensitivePaths);
    }

    [Fact]
    public void A_name_key_is_the_kind_then_the_name_zero_filled_as_the_kernel_reads_it()
    {
        var key = new NameKey(NameKind.Extension, ".pem").ToBytes();
        Assert.Equal(64, key.Length);
        Assert.Equal([3, (byte)'.', (byte)'p', (byte)'e', (byte)'m', 0], key[..6]);
        Assert.All(key[5..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void A_scan_finds_the_existing_files_of_globs_with_a_fixed_start_by_their_inode()
    {
        Directory.CreateDirectory(Path.Combine(_root, "home", "ann", ".ssh"));
        Directory.CreateDirectory(Path.Combine(_root, "home", "bob", ".ssh"));
        Directory.CreateDirectory(Path.Combine(_root, "secrets", "deep", "er"));
        File.WriteAllText(Path.Combine(_root, "home", "ann", ".ssh", "id_ed25519"), "k");
        File.WriteAllText(Path.Combine(_root, "home", "bob", ".ssh", "known_hosts"), "k");
        File.WriteAllText(Path.Combine(_root, "secrets", "deep", "er", "token"), "k");
        File.WriteAllText(Path.Combine(_root, "plain"), "k");
        File.CreateSymbolicLink(Path.Combine(_root, "secrets", "link"), Path.Combine(_root, "plain"));

        var files = new SensitiveFiles([$"{_root}/home/*/.ssh/id_*", $"{_root}/secrets/**", $"{_root}/missing"]);
        var found = files.Scan();

        Assert.Equal(
            new[] { $"{_root}/home/ann/.ssh/id_ed25519", $"{_root}/secrets/deep/er/token", $"{_root}/secrets/link" }.Order(),
            found.Values.Order());
        Assert.Equal(found[InodeKey.Of($"{_root}/plain")!.Value], $"{_root}/secrets/link"); // a symlink is its target's inode
    }

    [Fact]
    public void A_file_opened_is_reported_by_the_path_the_kernel_resolved_when_a_glob_matches_it_else_by_the_name_it_was_found_under()
    {
        File.WriteAllText(Path.Combine(_root, "key"), "k");
        var files = new SensitiveFiles([$"{_root}/key", "/**/*.pem"]);
        var key = InodeKey.Of(Path.Combine(_root, "key"))!.Value;
        files.Scan();

        var byInode = new FileOpenRecord { Device = key.Device, Inode = key.Inode, Match = FileOpenRecord.InodeMatch };
        Assert.Equal($"{_root}/key", files.PathOf(byInode, $"{_root}/key"));
        Assert.Equal($"{_root}/key", files.PathOf(byInode, "/elsewhere/hard-link")); // the same file under another name
        var byName = new FileOpenRecord { Match = 3 };
        Assert.Equal("/srv/x/cert.pem", files.PathOf(byName, "/srv/x/cert.pem"));
        Assert.Null(files.PathOf(byName, "/srv/x/cert.pem.txt"));
        Assert.Null(files.PathOf(byName, null)); // a path the kernel could not resolve whole
    }

    [Fact]
    public void A_ca_certificate_bundle_matches_by_name_but_is_not_reported()
    {
        var files = new SensitiveFiles(Platform.Contracts.SensitivePaths.Defaults, Platform.Contracts.SensitivePaths.NotSecretDefaults);
        var byName = new FileOpenRecord { Match = 3 };
        Assert.Null(files.PathOf(byName, "/usr/lib/python3/dist-packages/certifi/cacert.pem"));
        Assert.Null(files.PathOf(byName, "/etc/ssl/certs/ISRG_Root_X1.pem"));
        Assert.Equal("/srv/app/tls/server.pem", files.PathOf(byName, "/srv/app/tls/server.pem"));
    }
}

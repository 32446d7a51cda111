using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Agent.Sensor;
using Platform.Contracts;

namespace Platform.Tests.Sensor;

/// <summary>
/// The tamper records as the kernel writes them (Bpf/tamper.bpf.h's layout, built here byte by byte) turned into
/// attempts: matched by inode, resolved by path against real files, and the malformed, cut, stale and look-alike ones
/// dropped (no kernel needed).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TamperRecordConverterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tamper-records-").FullName;
    private readonly TamperSensor _tamper = new(new SensorChoice(new SensorState(AgentSensorMode.None, "no kernel here"), null, []), NullLogger<TamperSensor>.Instance);
    private readonly List<TamperAttempt> _raised = [];
    private readonly TamperRecordConverter _converter;

    public TamperRecordConverterTests()
    {
        _converter = new TamperRecordConverter(new ProcessTable(), _tamper);
        _tamper.Attempted += _raised.Add;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Protected(string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, "x");
        return path;
    }

    [Fact]
    public void The_fixed_part_has_the_kernels_layout() => Assert.Equal(104, Unsafe.SizeOf<TamperRecord>());

    [Fact]
    public void A_record_matched_by_inode_is_an_attempt_with_the_protected_path_the_errno_and_the_process()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);
        var record = Record(TamperSyscall.FchmodAt, TamperRecordMatch.Inode, _tamper.ByPath[key].Key!.Value, result: -1, mode: 0x1FF, fd: 7);

        Assert.True(Convert(record));

        var attempt = Assert.Single(_raised);
        Assert.Equal((key, TamperTarget.Inode, TamperOperation.Chmod, 1, true, (uint?)0x1FF, 7, 4242, 65534L, "evil"),
            (attempt.ProtectedPath, attempt.Match, attempt.Operation, attempt.Errno, attempt.Prevented, attempt.Mode, attempt.Fd, attempt.Pid, attempt.Uid, attempt.Comm));
        Assert.Null(attempt.NewUid);
    }

    [Fact]
    public void A_relative_path_is_resolved_against_the_directory_the_kernel_sent()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);

        Assert.True(Convert(Record(TamperSyscall.UnlinkAt, TamperRecordMatch.Path, default, result: -1, path: "./server.key", pathBase: _dir)));

        var attempt = Assert.Single(_raised);
        Assert.Equal((key, TamperTarget.Inode, TamperOperation.Remove, key), (attempt.ProtectedPath, attempt.Match, attempt.Operation, attempt.Path));
    }

    [Fact]
    public void A_new_name_in_a_protected_directory_is_an_attempt_on_the_directory()
    {
        var config = Directory.CreateDirectory(Path.Combine(_dir, "conf.d")).FullName;
        _tamper.SetProtected([config]);

        Assert.True(Convert(Record(TamperSyscall.OpenAt, TamperRecordMatch.Path, default, result: -1, path: config + "/new", flags: 0x241)));

        var attempt = Assert.Single(_raised);
        Assert.Equal((config, TamperTarget.Parent, TamperOperation.Create), (attempt.ProtectedPath, attempt.Match, attempt.Operation));
    }

    [Fact]
    public void A_file_with_a_protected_files_name_elsewhere_is_dropped()
    {
        _tamper.SetProtected([Protected("server.key")]);
        var elsewhere = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        File.WriteAllText(Path.Combine(elsewhere, "server.key"), "y");

        Assert.True(Convert(Record(TamperSyscall.FchmodAt, TamperRecordMatch.Path, default, result: 0, path: elsewhere + "/server.key")));

        Assert.Empty(_raised);
    }

    [Fact]
    public void An_inode_no_longer_protected_a_cut_path_a_short_record_and_a_candidate_without_its_slots_are_dropped()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);
        var inode = _tamper.ByPath[key].Key!.Value;
        var cut = Record(TamperSyscall.Truncate, TamperRecordMatch.Path, default, result: -1, path: key);
        cut[91] = 1; // truncated: the path is cut

        Assert.True(Convert(cut));
        Assert.True(Convert(Record(TamperSyscall.Truncate, TamperRecordMatch.Path, default, result: -1, path: key)[..200]));
        Assert.True(Convert(Record(TamperSyscall.Ftruncate, TamperRecordMatch.Inode, inode, result: -1)[..60]));
        _tamper.SetProtected([]);
        _tamper.SetProtected([]); // twice: the set before the last still counts (the next test)
        Assert.True(Convert(Record(TamperSyscall.Ftruncate, TamperRecordMatch.Inode, inode, result: -1)));

        Assert.Empty(_raised);
    }

    [Fact]
    public void A_protected_directory_renamed_is_an_attempt_though_the_set_was_taken_again_before_the_record_came()
    {
        var directory = Path.Combine(_dir, "keys");
        Directory.CreateDirectory(directory);
        _tamper.SetProtected([directory]);
        Directory.Move(directory, directory + ".moved");
        _tamper.SetProtected([directory]); // the watcher saw the rename and the agent looked again: nothing is at the path now

        Assert.True(Convert(Record(TamperSyscall.RenameAt2, TamperRecordMatch.Path, default, result: 0, path: directory, path2: directory + ".moved")));

        var attempt = Assert.Single(_raised);
        Assert.Equal((directory, TamperTarget.Inode, TamperOperation.Rename), (attempt.ProtectedPath, attempt.Match, attempt.Operation));
    }

    /// <summary>
    /// A removal that went through left nothing at its path: what is there when the record is read (here another name
    /// of a protected file; in life a file made since, given the freed number) is not what the call removed.
    /// </summary>
    [Fact]
    public void A_removal_that_went_through_is_not_matched_by_what_is_at_its_path_now()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);
        var other = Path.Combine(_dir, "other.tmp");
        HardLink(key, other);

        Assert.True(Convert(Record(TamperSyscall.UnlinkAt, TamperRecordMatch.Path, default, result: 0, path: other)));
        Assert.Empty(_raised);

        Assert.True(Convert(Record(TamperSyscall.UnlinkAt, TamperRecordMatch.Path, default, result: -1, path: other)));
        Assert.Equal((key, TamperTarget.Inode), (Assert.Single(_raised).ProtectedPath, _raised[0].Match)); // refused: it is still there
    }

    /// <summary>
    /// A protected file replaced by a rename over it: its inode number stops matching at once, in the set in force and
    /// the one before (the filesystem may give it to the next file it makes), though the agent has not looked again.
    /// Here the old inode lives on under another name, standing for a new file given its number.
    /// </summary>
    [Fact]
    public void A_protected_files_inode_stops_matching_once_a_rename_over_it_went_through()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);
        _tamper.SetProtected([key]); // the set before counts too: the inode is in both
        var inode = _tamper.ByPath[key].Key!.Value;
        var kept = Path.Combine(_dir, "kept");
        HardLink(key, kept);
        var staged = Path.Combine(_dir, "staged");
        File.WriteAllText(staged, "replacement");
        File.Move(staged, key, overwrite: true);

        Assert.True(Convert(Record(TamperSyscall.RenameAt2, TamperRecordMatch.Path, default, result: 0, path: staged, path2: key)));
        var replaced = Assert.Single(_raised);
        Assert.Equal((key, TamperTarget.Name, TamperOperation.Rename, inode), (replaced.ProtectedPath, replaced.Match, replaced.Operation, replaced.Target));

        Assert.True(Convert(Record(TamperSyscall.Ftruncate, TamperRecordMatch.Inode, inode, result: 0)));
        File.Move(kept, kept + ".2");
        Assert.True(Convert(Record(TamperSyscall.RenameAt2, TamperRecordMatch.Path, default, result: 0, path: kept, path2: kept + ".2")));
        Assert.Single(_raised);

        _tamper.SetProtected([key]); // the agent looked again: the file now at the path is protected
        Assert.True(Convert(Record(TamperSyscall.Ftruncate, TamperRecordMatch.Inode, _tamper.ByPath[key].Key!.Value, result: 0)));
        Assert.Equal((key, TamperOperation.Truncate), (_raised[^1].ProtectedPath, _raised[^1].Operation));
    }

    /// <summary>A protected file removed: its inode stops matching, and one looked at before it went is not taken back.</summary>
    [Fact]
    public async Task A_removed_protected_files_inode_is_not_taken_back_by_a_look_that_began_before_it_went()
    {
        var key = Protected("server.key");
        _tamper.SetProtected([key]);
        var inode = _tamper.ByPath[key].Key!.Value;
        var kept = Path.Combine(_dir, "kept");
        HardLink(key, kept);

        var paths = new BlockingPaths(key);
        var looking = Task.Run(() => _tamper.SetProtected(paths)); // a rescan that has looked at the file, not yet done
        paths.Looked.Wait();
        File.Delete(key);
        Assert.True(Convert(Record(TamperSyscall.UnlinkAt, TamperRecordMatch.Path, default, result: 0, path: key)));
        paths.Go.Set();
        await looking;

        Assert.Equal((key, TamperTarget.Name, TamperOperation.Remove), (Assert.Single(_raised).ProtectedPath, _raised[0].Match, _raised[0].Operation));
        Assert.False(_tamper.ByInode.ContainsKey(inode));
        Assert.True(Convert(Record(TamperSyscall.Ftruncate, TamperRecordMatch.Inode, inode, result: 0)));
        Assert.Single(_raised);
    }

    /// <summary>Paths given one at a time, the enumeration held after the first until told to go on.</summary>
    private sealed class BlockingPaths(string path) : IEnumerable<string>
    {
        public ManualResetEventSlim Looked { get; } = new();

        public ManualResetEventSlim Go { get; } = new();

        public IEnumerator<string> GetEnumerator()
        {
            yield return path;
            Looked.Set();
            Go.Wait();
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static void HardLink(string existing, string name)
    {
        if (Link(existing, name) != 0)
            throw new IOException($"link {existing} {name}: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string name);

    [Fact]
    public void Records_of_other_parts_are_not_this_converters_and_unknown_tamper_kinds_are_consumed()
    {
        var other = Record(TamperSyscall.Chmod, TamperRecordMatch.Inode, default, result: 0);
        other[0] = 32;
        Assert.False(Convert(other));
        other[0] = 63;
        Assert.True(Convert(other));
        Assert.Empty(_raised);
    }

    [Fact]
    public void A_protected_path_must_be_absolute() => Assert.Throws<ArgumentException>(() => _tamper.SetProtected(["etc/key"]));

    private bool Convert(byte[] record)
    {
        var span = (ReadOnlySpan<byte>)record;
        var header = span.Length >= Unsafe.SizeOf<RecordHeader>() ? RecordHeader.Of(span) : default;
        return _converter.TryConvert(header, span, []);
    }

    /// <summary>A record as tamper.bpf.h writes it: the header, the fixed part and, for a path candidate, the four slots.</summary>
    private static byte[] Record(TamperSyscall syscall, TamperRecordMatch match, InodeKey inode, int result, string? path = null, string? pathBase = null,
        ulong flags = 0, uint mode = 0, int fd = -1, string? path2 = null)
    {
        var size = Unsafe.SizeOf<TamperRecord>() + (match == TamperRecordMatch.Path ? TamperRecord.Slots * TamperRecord.SlotBytes : 0);
        var bytes = new byte[size];
        var r = new TamperRecord
        {
            Header = new RecordHeader { Kind = TamperRecord.Kind, Size = (ushort)size, Pid = 4243, Tgid = 4242, Ppid = 1, Uid = 65534 },
            Device = inode.Device, Inode = inode.Inode, Flags = flags, Result = result, Mode = mode, Uid = TamperRecord.Unchanged, Gid = TamperRecord.Unchanged,
            Syscall = syscall, Match = match, Fd = fd,
        };
        if (path is not null)
            r.PathLength = (ushort)Encoding.UTF8.GetBytes(path, bytes.AsSpan(Unsafe.SizeOf<TamperRecord>()));
        if (path2 is not null)
            r.Path2Length = (ushort)Encoding.UTF8.GetBytes(path2, bytes.AsSpan(Unsafe.SizeOf<TamperRecord>() + TamperRecord.SlotBytes));
        if (pathBase is not null)
            r.BaseLength = (ushort)Encoding.UTF8.GetBytes(pathBase, bytes.AsSpan(Unsafe.SizeOf<TamperRecord>() + 2 * TamperRecord.SlotBytes));
        MemoryMarshal.Write(bytes, in r);
        Encoding.ASCII.GetBytes("evil", bytes.AsSpan(32, RecordHeader.CommLength)); // the header's comm
        return bytes;
    }
}

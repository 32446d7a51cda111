using System.Text;

namespace Platform.Agent.Sensor;

/// <summary>A protected path as the kernel knows it: its inode (null when it does not exist) and whether it is a directory.</summary>
public sealed record ProtectedEntry(string Path, InodeKey? Key, bool Directory);

/// <summary>
/// The files whose every change attempt the kernel sensor reports (Bpf/tamper.bpf.h): the agent gives their paths
/// (<see cref="SetProtected"/>: the FIM rules' files and directories); their inodes go to the kernel's map
/// <c>protected_inodes</c> and their names to <c>protected_names</c>. Each attempt, matched in the kernel or resolved
/// here (<see cref="TamperRecordConverter"/>), is raised as <see cref="Attempted"/> with its true result.
/// </summary>
public sealed class TamperSensor(SensorChoice choice, ILogger<TamperSensor> log)
{
    public const uint ProtectFile = 0x1, ProtectDirectory = 0x2;
    private const int NameKeyBytes = 64;

    private readonly Lock _lock = new();
    private readonly Dictionary<InodeKey, uint> _inodesInKernel = [];
    private readonly HashSet<string> _namesInKernel = new(StringComparer.Ordinal);
    private readonly List<(InodeKey Key, long Seq)> _left = [];
    private long _leftSeq;
    private Snapshot _current = Snapshot.Empty;

    /// <summary>
    /// An attempt on a protected file: raised on the sensor's thread, in the order the kernel saw them (a handler must
    /// not block: queue the work). The kernel's records come at most <see cref="KernelSensor.DrainMilliseconds"/> plus a
    /// batch (100 ms) after the call.
    /// </summary>
    public event Action<TamperAttempt>? Attempted;

    /// <summary>Whether attempts are seen: the kernel sensor is loaded (else <see cref="SetProtected"/> only keeps the list).</summary>
    public bool Watching => choice.Sensor is not null;

    /// <summary>Attempts raised since the agent started.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);
    private long _attempts;

    /// <summary>The protected paths, as last set, by inode (those that exist) and by path.</summary>
    public IReadOnlyDictionary<InodeKey, ProtectedEntry> ByInode => Volatile.Read(ref _current).ByInode;

    /// <inheritdoc cref="ByInode"/>
    public IReadOnlyDictionary<string, ProtectedEntry> ByPath => Volatile.Read(ref _current).ByPath;

    /// <summary>
    /// Replaces the protected set with these absolute paths (files or directories; a symlink is followed, a missing
    /// path is kept by its name so that a file made there later is seen): each existing one's inode goes to the
    /// kernel, a directory's marked so that entries made, removed or renamed in it are seen too, and every path's
    /// name goes to the kernel's name filter. Call it again when the files change (a rule added, a file created or
    /// replaced: the new inode); it changes only what differs. Returns the number of inodes in the kernel's map.
    /// Thread-safe.
    /// </summary>
    public int SetProtected(IEnumerable<string> paths)
    {
        var started = Interlocked.Read(ref _leftSeq);
        var byPath = new Dictionary<string, ProtectedEntry>(StringComparer.Ordinal);
        var byInode = new Dictionary<InodeKey, ProtectedEntry>();
        foreach (var raw in paths)
        {
            if (!System.IO.Path.IsPathFullyQualified(raw))
                throw new ArgumentException($"a protected path must be absolute: {raw}", nameof(paths));
            var path = Normalize(raw);
            var stat = InodeKey.Lookup(path, follow: true);
            var entry = new ProtectedEntry(path, stat?.Key, stat?.Directory ?? false);
            byPath[path] = entry;
            if (stat is { } s)
                byInode.TryAdd(s.Key, entry);
        }

        lock (_lock)
        {
            // An inode that left its path after these paths were looked at may have been seen at it: it is not taken
            // back until a set looked at after it left (the rescan its removal asked for) finds it there again.
            foreach (var (key, _) in _left.Where(l => l.Seq > started))
                byInode.Remove(key);
            _left.RemoveAll(l => l.Seq <= started);
            if (choice.Sensor is { } sensor)
                UpdateKernel(sensor, byInode, byPath.Keys);
            Volatile.Write(ref _current, new Snapshot(byInode, byPath) { Previous = _current with { Previous = null } });
            return _inodesInKernel.Count;
        }
    }

    private unsafe void UpdateKernel(KernelSensor sensor, Dictionary<InodeKey, ProtectedEntry> byInode, IEnumerable<string> paths)
    {
        var inodes = sensor.Object.Map("protected_inodes");
        foreach (var (key, entry) in byInode)
        {
            var value = entry.Directory ? ProtectFile | ProtectDirectory : ProtectFile;
            if (_inodesInKernel.TryGetValue(key, out var had) && had == value)
                continue;
            var k = key;
            if (inodes.Update(&k, &value) is var set and < 0)
                log.LogWarning("The protected file {Path} could not be given to the kernel: {Error}", entry.Path, Libbpf.Error(set));
            else
                _inodesInKernel[key] = value;
        }

        foreach (var key in _inodesInKernel.Keys.Where(key => !byInode.ContainsKey(key)).ToList())
            Unprotect(inodes, key);

        var names = sensor.Object.Map("protected_names");
        var wanted = paths.Select(NameOf).Where(name => name.Length > 0).ToHashSet(StringComparer.Ordinal);
        var buffer = stackalloc byte[NameKeyBytes];
        foreach (var name in wanted.Where(name => !_namesInKernel.Contains(name)))
        {
            if (!NameKey(name, buffer))
                continue; // 64 bytes or longer: the kernel leaves every such name to user space
            var one = 1u;
            if (names.Update(buffer, &one) is var set and < 0)
                log.LogWarning("The protected name {Name} could not be given to the kernel: {Error}", name, Libbpf.Error(set));
            else
                _namesInKernel.Add(name);
        }

        foreach (var name in _namesInKernel.Where(name => !wanted.Contains(name)).ToList())
        {
            if (NameKey(name, buffer))
                names.Delete(buffer);
            _namesInKernel.Remove(name);
        }
    }

    /// <summary>
    /// Protected inodes that a call the sensor reported took from their paths (removed, renamed away or replaced by a
    /// rename over them), on the sensor's thread in the kernel's order: they stop matching at once, in this set and the
    /// one before, and leave the kernel's map. Until the agent looks at its paths again their numbers would still
    /// match, and the filesystem gives a freed number to the next file it makes (ext4 does so at once), so that a
    /// change to an unrelated file would be reported as one to the protected file.
    /// </summary>
    internal void Left(IEnumerable<InodeKey> keys)
    {
        lock (_lock)
        {
            foreach (var key in keys)
            {
                if (!_current.TryInode(key, out _))
                    continue;
                _left.Add((key, Interlocked.Increment(ref _leftSeq)));
                Volatile.Write(ref _current, _current.Without(key));
                if (choice.Sensor is { } sensor)
                    Unprotect(sensor.Object.Map("protected_inodes"), key);
            }
        }
    }

    /// <summary>An inode out of the kernel's map, when it is there (under the lock).</summary>
    private unsafe void Unprotect(BpfMap inodes, InodeKey key)
    {
        if (!_inodesInKernel.Remove(key))
            return;
        var k = key;
        inodes.Delete(&k);
    }

    /// <summary>The key of protected_names: the name's UTF-8 bytes, NUL-padded; false for a name of 64 bytes or more.</summary>
    private static unsafe bool NameKey(string name, byte* key)
    {
        var span = new Span<byte>(key, NameKeyBytes);
        span.Clear();
        return Encoding.UTF8.GetByteCount(name) < NameKeyBytes && Encoding.UTF8.GetBytes(name, span) > 0;
    }

    /// <summary>The last component of a path ("" for /).</summary>
    private static string NameOf(string path) => System.IO.Path.GetFileName(path.TrimEnd('/'));

    /// <summary>An absolute path with . and .. resolved as names (not through symlinks) and no trailing slash.</summary>
    internal static string Normalize(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    internal void Raise(TamperAttempt attempt)
    {
        Interlocked.Increment(ref _attempts);
        try
        {
            Attempted?.Invoke(attempt);
        }
        catch (Exception failure)
        {
            log.LogError(failure, "A handler of a tamper attempt failed");
        }
    }

    internal Snapshot Current => Volatile.Read(ref _current);

    internal sealed record Snapshot(IReadOnlyDictionary<InodeKey, ProtectedEntry> ByInode, IReadOnlyDictionary<string, ProtectedEntry> ByPath)
    {
        public static readonly Snapshot Empty = new(new Dictionary<InodeKey, ProtectedEntry>(), new Dictionary<string, ProtectedEntry>());

        /// <summary>
        /// The set before this one. A record is converted after its system call, and the set may have been taken again
        /// in between, by the very change the record reports (a protected directory renamed: the watcher's event makes
        /// the agent look again, and the directory is no longer at its path): an inode protected then still counts.
        /// </summary>
        public Snapshot? Previous { get; init; }

        /// <summary>This set, and the one before, without an inode.</summary>
        public Snapshot Without(InodeKey key) => ByInode.ContainsKey(key) || Previous?.ByInode.ContainsKey(key) == true
            ? this with { ByInode = ByInode.Where(e => !e.Key.Equals(key)).ToDictionary(), Previous = Previous?.Without(key) }
            : this;

        /// <summary>The entry of a protected inode, in this set or the one before.</summary>
        public bool TryInode(InodeKey key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out ProtectedEntry entry) =>
            ByInode.TryGetValue(key, out entry) || (Previous is not null && Previous.ByInode.TryGetValue(key, out entry));
    }
}

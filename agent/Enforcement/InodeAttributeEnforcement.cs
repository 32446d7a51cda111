using System.Globalization;

namespace Platform.Agent.Enforcement;

/// <summary>
/// Prevention the kernel keeps: the immutable attribute on what <c>prevent</c> rules protect, append-only on their
/// <c>allowAppend</c> files (<see cref="ProtectionPlan"/>). The kernel checks the inode, not the name, so a write
/// through a symbolic or hard link, /proc/self/fd, io_uring or mmap, a truncate, rename, unlink or chmod are all
/// refused (EPERM), for root too, and the attributes stay when the agent dies. What the agent set is in the
/// <see cref="EnforcementLedger"/> and given back (the original flags) when a rule stops applying, is unlocked, or
/// the agent is uninstalled. A filesystem without the attributes (ramfs, vfat, ...) is found by the ioctl's answer,
/// once per device; its paths are reported, not protected.
/// </summary>
public sealed class InodeAttributeEnforcement : IEnforcement
{
    private readonly Lock _gate = new();
    private readonly EnforcementLedger _ledger;
    private readonly EnforcementOptions _options;
    private readonly ILogger _log;
    private readonly Dictionary<string, LedgerEntry> _entries;
    private readonly Dictionary<string, string> _unsupportedDevices = new(StringComparer.Ordinal);
    private Dictionary<string, string> _unsupportedPaths = new(StringComparer.Ordinal);
    private Dictionary<string, string?> _planned = new(StringComparer.Ordinal);
    private Dictionary<string, string> _filesystems = InodeFlags.FilesystemTypes();
    private bool _truncated;

    public InodeAttributeEnforcement(EnforcementLedger ledger, EnforcementOptions options, ILogger log)
    {
        (_ledger, _options, _log) = (ledger, options, log);
        _entries = ledger.Load();
    }

    public AgentPreventionMechanism Mechanism => AgentPreventionMechanism.InodeAttributes;

    public string? Reason
    {
        get
        {
            lock (_gate)
            {
                var parts = new List<string>(2);
                if (_truncated)
                    parts.Add($"the rules cover more than {_options.MaxProtected} inodes or {_options.MaxEntriesLookedAt} entries looked at ({EnforcementOptions.Section}); the rest is not protected");
                if (_unsupportedPaths.Count > 0)
                    parts.Add($"{_unsupportedPaths.Count} protected paths cannot be: {string.Join("; ", _unsupportedPaths.Values.Distinct().Take(3))}");
                var reason = string.Join("; ", parts);
                return parts.Count == 0 ? null : reason.Length > 500 ? reason[..497] + "..." : reason;
            }
        }
    }

    /// <summary>Inodes protected now (the ledger's entries).</summary>
    public int Protected
    {
        get
        {
            lock (_gate)
                return _entries.Count;
        }
    }

    public EnforcementReport Apply(IReadOnlyList<FimRule> rules, IReadOnlyDictionary<string, DateTimeOffset> unlockedUntil, DateTimeOffset now)
    {
        var unlocked = unlockedUntil.Where(u => u.Value > now).ToDictionary(u => u.Key, u => u.Value, StringComparer.Ordinal);
        var (targets, truncated) = ProtectionPlan.Build(rules.Where(r => !unlocked.ContainsKey(r.Id)).ToList(), _options.MaxProtected, _options.MaxEntriesLookedAt);
        var planned = targets.Keys.ToList();
        // The agent's own state (the ledger, the spool, the credential) is never frozen, whatever a rule covers.
        var state = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_ledger.Directory));
        targets.Keys.Where(p => p == state || p.StartsWith(state + "/", StringComparison.Ordinal)).ToList().ForEach(p => targets.Remove(p));
        lock (_gate)
        {
            _truncated = truncated;
            var unsupported = new Dictionary<string, string>(StringComparer.Ordinal);
            var restored = 0;
            var changed = false;

            // What no rule protects any more (or wants otherwise) is given back first.
            foreach (var (path, entry) in _entries.ToList())
            {
                if (targets.TryGetValue(path, out var wanted) && (int)wanted == entry.Wanted)
                    continue;
                changed = true;
                if (Restore(path, entry))
                    restored++;
            }

            // Write-ahead: every inode about to get an attribute is in the ledger (with its flags before) first.
            var pending = new List<(string Path, InodeStat Stat, LedgerEntry Entry)>();
            foreach (var (path, flag) in targets)
            {
                if (Intent(path, flag, unsupported) is { } step)
                {
                    _entries[path] = step.Entry;
                    pending.Add((path, step.Stat, step.Entry));
                }
            }

            if (pending.Count > 0 || changed)
                _ledger.Save(_entries);
            var set = 0;
            foreach (var (path, stat, entry) in pending)
            {
                if (Put(path, stat, entry, unsupported))
                    set++;
                else
                    _entries.Remove(path);
            }

            if (set != pending.Count)
                _ledger.Save(_entries);
            _unsupportedPaths = unsupported;
            _planned = planned.ToDictionary(p => p, Why, StringComparer.Ordinal);
            if (set > 0 || restored > 0)
                _log.LogInformation("Enforcement: {Set} inode attributes set, {Restored} given back, {Protected} inodes protected", set, restored, _entries.Count);
            DateTimeOffset? next = unlocked.Count == 0 ? null : unlocked.Values.Min();
            return new EnforcementReport(_entries.Count, set, restored, unsupported, next);
        }
    }

    /// <summary>
    /// The ledger entry for protecting <paramref name="path"/> with <paramref name="flag"/>, when something must be set
    /// (null when it is protected already, is not a regular file or directory, or cannot be: then in <paramref name="unsupported"/>).
    /// </summary>
    private (InodeStat Stat, LedgerEntry Entry)? Intent(string path, InodeFlag flag, Dictionary<string, string> unsupported)
    {
        if (InodeFlags.Stat(path, out _) is not { } stat || !(stat.IsFile || stat.IsDirectory))
        {
            _entries.Remove(path);
            return null;
        }

        if (_unsupportedDevices.TryGetValue(stat.Device, out var why))
        {
            unsupported[path] = why;
            return null;
        }

        var entry = _entries.GetValueOrDefault(path);
        if (entry is not null && (entry.Device != stat.Device || entry.Inode != stat.Inode))
        {
            // Another inode under the protected name (made while it was not protected): the old one is not reachable by it.
            _log.LogWarning("{Path} is another file than the one protected before (inode {Old}, now {New}); the new one is protected", path, entry.Inode, stat.Inode);
            entry = null;
        }

        var added = (int)flag & ~(entry?.Original ?? (int)stat.KernelFlags);
        if (entry is not null && entry.Wanted == (int)flag && ((int)stat.KernelFlags & entry.Added) == entry.Added)
            return null; // in place already (statx shows the attributes without opening the file)
        using var fd = OpenWithFlags(path, stat, unsupported, out var current);
        if (fd is null)
            return null;

        var original = entry?.Original ?? current;
        added = (int)flag & ~original;
        return (stat, new LedgerEntry { Device = stat.Device, Inode = stat.Inode, Wanted = (int)flag, Original = original, Added = added });
    }

    /// <summary>Sets what <paramref name="entry"/> adds (keeping every other flag); false when the kernel refused.</summary>
    private bool Put(string path, InodeStat stat, LedgerEntry entry, Dictionary<string, string> unsupported)
    {
        using var fd = OpenWithFlags(path, stat, unsupported, out var current);
        if (fd is null)
            return false;

        // Bits added before for another attribute (append-only, now immutable) go; the ones wanted now come.
        var other = ((int)InodeFlag.Immutable | (int)InodeFlag.Append) & ~entry.Original & ~entry.Added;
        var desired = (current & ~other) | entry.Added;
        if (desired == current)
            return true;
        var error = InodeFlags.Set(fd, desired);
        if (error == 0)
            return true;
        unsupported[path] = Refused(stat, error);
        return false;
    }

    /// <summary>
    /// The file at <paramref name="path"/> (still the inode <paramref name="stat"/> saw) opened for its attributes, with
    /// its current flags; null when it cannot be opened or its flags read (then why is in <paramref name="unsupported"/>).
    /// </summary>
    private SafeFileHandle? OpenWithFlags(string path, InodeStat stat, Dictionary<string, string> unsupported, out int current)
    {
        current = 0;
        var fd = InodeFlags.Open(path, stat, out var error);
        if (fd is null)
        {
            unsupported[path] = $"{path} could not be opened to set its attributes (errno {error})";
            return null;
        }

        if (InodeFlags.Get(fd, out error) is not { } flags)
        {
            fd.Dispose();
            unsupported[path] = Refused(stat, error);
            return null;
        }

        current = flags;
        return fd;
    }

    /// <summary>Why the kernel refused, in words; a filesystem without the attributes is remembered (by device) and not tried again.</summary>
    private string Refused(InodeStat stat, int error)
    {
        if (!InodeFlags.MeansUnsupported(error))
            return error == 1 ? "setting the immutable attribute needs CAP_LINUX_IMMUTABLE" : string.Create(CultureInfo.InvariantCulture, $"the kernel refused the immutable attribute (errno {error})");
        if (!_filesystems.ContainsKey(stat.Device))
            _filesystems = InodeFlags.FilesystemTypes();
        var reason = $"{_filesystems.GetValueOrDefault(stat.Device, $"the filesystem of device {stat.Device}")} has no immutable attribute";
        if (_unsupportedDevices.TryAdd(stat.Device, reason))
            _log.LogWarning("Prevention by inode attributes is not possible on device {Device}: {Reason}", stat.Device, reason);
        return reason;
    }

    /// <summary>Gives the inode its original attributes back; false (the entry kept) when the kernel refused.</summary>
    private bool Restore(string path, LedgerEntry entry)
    {
        if (InodeFlags.Stat(path, out _) is not { } stat || stat.Device != entry.Device || stat.Inode != entry.Inode)
        {
            _log.LogWarning("{Path} is no longer the protected inode {Inode}; its attributes cannot be given back by that name", path, entry.Inode);
            _entries.Remove(path);
            return false;
        }

        using var fd = InodeFlags.Open(path, stat, out var error);
        if (fd is not null && InodeFlags.Get(fd, out error) is { } current && ((current & entry.Added) == 0 || (error = InodeFlags.Set(fd, current & ~entry.Added)) == 0))
        {
            _entries.Remove(path);
            return true;
        }

        _log.LogWarning("The attributes of {Path} could not be given back (errno {Error}); tried again later", path, error);
        return false;
    }

    public IReadOnlyList<string> Verify()
    {
        lock (_gate)
            return Reassert(_entries);
    }

    public Reassertion Reassert(uint deviceMajor, uint deviceMinor, ulong inode)
    {
        var device = string.Create(CultureInfo.InvariantCulture, $"{deviceMajor}:{deviceMinor}");
        lock (_gate)
        {
            var kept = _entries.Where(e => e.Value.Inode == inode && e.Value.Device == device).ToList();
            if (kept.Count == 0)
                return new Reassertion([], _unsupportedDevices.GetValueOrDefault(device) ?? "the agent does not protect this inode now");
            var failed = new Dictionary<string, string>(StringComparer.Ordinal);
            var put = Reassert(kept, failed);
            return new Reassertion(put, failed.Count == 0 ? null : string.Join("; ", failed.Values));
        }
    }

    /// <summary>Puts back what is missing of <paramref name="entries"/>; the paths put back, and why not (by path) in <paramref name="failed"/>.</summary>
    private List<string> Reassert(IEnumerable<KeyValuePair<string, LedgerEntry>> entries, Dictionary<string, string>? failed = null)
    {
        var put = new List<string>();
        failed ??= new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, entry) in entries)
        {
            if (InodeFlags.Stat(path, out _) is not { } stat || stat.Device != entry.Device || stat.Inode != entry.Inode)
            {
                // Gone or replaced (only possible once the attribute was removed): the next rescan protects what is there.
                failed[path] = $"{path} is no longer the protected inode";
                continue;
            }

            if (((int)stat.KernelFlags & entry.Added) == entry.Added)
                continue;
            if (Put(path, stat, entry, failed))
            {
                put.Add(path);
                _log.LogWarning("The {Attribute} attribute of {Path} had been removed; it is back", (InodeFlag)entry.Wanted, path);
            }
        }

        return put;
    }

    public string? Unsupported(string path, FimOperation action)
    {
        if (action == FimOperation.Read)
            return "an inode attribute cannot refuse reads";
        lock (_gate)
            return Why(path);
    }

    /// <summary>Why a write to <paramref name="path"/> is not refused (null when it is); the caller holds <c>_gate</c>.</summary>
    private string? Why(string path)
    {
        if (_entries.ContainsKey(path))
            return null;
        if (_unsupportedPaths.TryGetValue(path, out var why))
            return why;
        for (var at = path; at.Length > 0; at = Path.GetDirectoryName(at) ?? "")
        {
            if (InodeFlags.Stat(at, out _) is { } stat)
                return _unsupportedDevices.GetValueOrDefault(stat.Device) ?? (_truncated ? $"not protected: the rules cover more than {EnforcementOptions.Section}:MaxProtected inodes" : null);
        }

        return null;
    }

    public IReadOnlyDictionary<string, string?> Planned
    {
        get
        {
            lock (_gate)
                return _planned;
        }
    }

    public IReadOnlyList<ProtectedInode> ProtectedInodes()
    {
        lock (_gate)
        {
            return _entries.Select(e =>
            {
                var device = e.Value.Device.Split(':');
                return new ProtectedInode(e.Key, uint.Parse(device[0], CultureInfo.InvariantCulture), uint.Parse(device[1], CultureInfo.InvariantCulture), e.Value.Inode, (InodeFlag)e.Value.Wanted);
            }).ToList();
        }
    }

    public int RestoreAll()
    {
        lock (_gate)
        {
            var restored = _entries.ToList().Count(e => Restore(e.Key, e.Value));
            _ledger.Save(_entries);
            return restored;
        }
    }
}

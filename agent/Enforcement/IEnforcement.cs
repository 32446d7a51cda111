namespace Platform.Agent.Enforcement;

/// <summary>
/// How the agent keeps <c>prevent</c> rules, behind one interface so that another mechanism (a BPF LSM program, on
/// kernels where LSM programs load) can take the place of the inode attributes. Chosen once, at start
/// (<see cref="EnforcementChoice"/>); the heartbeat says which is in force and why not another.
/// </summary>
public interface IEnforcement
{
    /// <summary>The heartbeat's <c>capabilities.prevention.mechanism</c>.</summary>
    AgentPreventionMechanism Mechanism { get; }

    /// <summary>Why prevention is weaker than the kernel's (null when the kernel keeps it); the heartbeat's prevention reason.</summary>
    string? Reason { get; }

    /// <summary>
    /// Protects what the enabled <c>prevent</c> rules of <paramref name="rules"/> cover, except the rules unlocked until a
    /// time after <paramref name="now"/> (<paramref name="unlockedUntil"/>, by rule id), and gives back what no rule
    /// protects any more (its original attributes). Idempotent: the same rules again change nothing.
    /// </summary>
    EnforcementReport Apply(IReadOnlyList<FimRule> rules, IReadOnlyDictionary<string, DateTimeOffset> unlockedUntil, DateTimeOffset now);

    /// <summary>Puts back every attribute the agent set that is no longer there (someone with CAP_LINUX_IMMUTABLE removed it); the paths it put back.</summary>
    IReadOnlyList<string> Verify();

    /// <summary>
    /// The same for one inode, at once: the sensor calls it the moment it sees FS_IOC_SETFLAGS or FS_IOC_FSSETXATTR on a
    /// protected inode. The paths it put back (none when nothing was missing), and why it could not (the inode is not one
    /// the agent protects now, its path names another file, the kernel refused): the alert must not say it is back.
    /// </summary>
    Reassertion Reassert(uint deviceMajor, uint deviceMinor, ulong inode);

    /// <summary>
    /// Why a <c>prevent</c> rule's alert on <paramref name="path"/> is only an alert (<c>prevent-unsupported</c>): the
    /// filesystem has no such attribute, the mechanism is turned off; null when the path is protected.
    /// </summary>
    string? Unsupported(string path, FimOperation action);

    /// <summary>
    /// What the last <see cref="Apply"/> set out to protect (<see cref="ProtectionPlan"/> of the enabled <c>prevent</c>
    /// rules not unlocked), each path with why it is not protected (<see cref="Unsupported"/> for a write then; null when
    /// it is): the kernel sensor watches the unprotected ones like an <c>alert</c> rule's paths. Empty before the first.
    /// </summary>
    IReadOnlyDictionary<string, string?> Planned { get; }

    /// <summary>
    /// The inodes protected now, for the kernel sensor's <c>protected_inodes</c> map (device as statx gives it: the BPF
    /// side's <c>s_dev</c> is <c>major &lt;&lt; 20 | minor</c>). Read it again after each <see cref="Apply"/>.
    /// </summary>
    IReadOnlyList<ProtectedInode> ProtectedInodes();

    /// <summary>Gives back every original attribute the agent set (the <c>uninstall</c> subcommand); the number restored.</summary>
    int RestoreAll();
}

/// <summary>What one <see cref="IEnforcement.Apply"/> did and found.</summary>
/// <param name="Protected">Inodes protected now.</param>
/// <param name="Set">Attributes set by this call.</param>
/// <param name="Restored">Inodes given back their original attributes by this call.</param>
/// <param name="Unsupported">Paths a prevent rule covers that cannot be protected, and why.</param>
/// <param name="NextChange">When an unlock window ends (the rules must be applied again then), if one is open.</param>
public sealed record EnforcementReport(int Protected, int Set, int Restored, IReadOnlyDictionary<string, string> Unsupported, DateTimeOffset? NextChange);

/// <summary>What one <see cref="IEnforcement.Reassert"/> did.</summary>
/// <param name="Put">Paths of the inode whose attribute it put back.</param>
/// <param name="Failed">Why the attribute could not be put back, in words; null when it was, or nothing was missing.</param>
public sealed record Reassertion(IReadOnlyList<string> Put, string? Failed);

/// <summary>An inode the mechanism protects: by which path, and with which attribute.</summary>
public readonly record struct ProtectedInode(string Path, uint DeviceMajor, uint DeviceMinor, ulong Inode, InodeFlag Attribute);

namespace Platform.Agent.Enforcement;

/// <summary>
/// The enforcement mechanism, chosen once when the agent starts (<see cref="EnforcementOptions.Mode"/>): inode
/// attributes when the agent holds CAP_LINUX_IMMUTABLE, else fanotify's refusal of opens when the agent may use
/// fanotify (CAP_SYS_ADMIN), else none. A BPF LSM backend would be tried first here, on kernels where LSM programs
/// load (not this machine kind: the kernel is locked down in integrity mode).
/// </summary>
public static class EnforcementChoice
{
    public static IEnforcement Choose(AgentOptions options, ILogger log)
    {
        var ledger = new EnforcementLedger(options.StateDirectory, log);
        var mode = options.Enforcement.Mode;
        if (mode == EnforcementMode.None)
            return new NoEnforcement(AgentPreventionMechanism.None, $"prevention is turned off ({EnforcementOptions.Section}:Mode=none)", ledger, log, options.Enforcement);
        if (mode is EnforcementMode.Auto or EnforcementMode.InodeAttributes && NoInodeAttributes() is null)
            return new InodeAttributeEnforcement(ledger, options.Enforcement, log);
        var why = mode == EnforcementMode.Fanotify ? $"inode attributes are turned off ({EnforcementOptions.Section}:Mode=fanotify)" : NoInodeAttributes()!;
        if (Platform.Agent.Fim.Fanotify.TryOpen(out var noFanotify) is { } fanotify)
        {
            fanotify.Dispose();
            return new NoEnforcement(AgentPreventionMechanism.Fanotify, $"{why}; opens for writing are refused by name through fanotify, which another name, truncate(2), rename and unlink go around", ledger, log, options.Enforcement);
        }

        return new NoEnforcement(AgentPreventionMechanism.None, $"{why}; and fanotify is not available ({noFanotify})", ledger, log, options.Enforcement);
    }

    /// <summary>Why the inode attributes cannot be used (null when they can).</summary>
    public static string? NoInodeAttributes() =>
        !OperatingSystem.IsLinux() ? "inode attributes need Linux"
        : !InodeFlags.MayChange() ? "setting inode attributes needs CAP_LINUX_IMMUTABLE"
        : null;
}

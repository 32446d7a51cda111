namespace Platform.Agent.Enforcement;

/// <summary>How <c>prevent</c> rules are kept (docs/enforcement.md).</summary>
public enum EnforcementMode
{
    /// <summary>Inode attributes when the agent may set them (CAP_LINUX_IMMUTABLE), else fanotify's refusal of opens, else report only.</summary>
    Auto,

    /// <summary>Inode attributes or nothing: without CAP_LINUX_IMMUTABLE the agent says why on stderr and exits with code 3.</summary>
    InodeAttributes,

    /// <summary>The older refusal of opens for writing through fanotify permission events (another name, io_uring, truncate, rename and unlink go around it).</summary>
    Fanotify,

    /// <summary>Nothing is refused: every alert of a <c>prevent</c> rule says <c>prevent-unsupported</c> and why.</summary>
    None,
}

/// <summary>Bound from <c>Platform:Agent:Enforcement</c> (<c>Platform__Agent__Enforcement__Mode=inode-attributes</c>, ...), checked at start.</summary>
public sealed class EnforcementOptions
{
    public const string Section = AgentOptions.Section + ":Enforcement";

    /// <summary><c>auto</c> (default), <c>inode-attributes</c>, <c>fanotify</c>, <c>none</c> (also spelt without the dash).</summary>
    public EnforcementMode Mode { get; set; } = EnforcementMode.Auto;

    /// <summary>How often every attribute the agent set is checked and put back when it was removed, in seconds (one statx per protected inode).</summary>
    public int VerifySeconds { get; set; } = 5;

    /// <summary>How often the rules' paths are looked at again for files and directories made since (they are protected as they appear), in seconds.</summary>
    public int RescanSeconds { get; set; } = 60;

    /// <summary>Inodes protected at most; past it the rest of the rules' paths are left as they are (a warning, and the heartbeat's prevention reason says so).</summary>
    public int MaxProtected { get; set; } = 100_000;

    /// <summary>Entries looked at when the rules' paths are enumerated, at most (a glob over a large tree).</summary>
    public int MaxEntriesLookedAt { get; set; } = 1_000_000;

    /// <summary>Accepts the setting's values as the documentation spells them (<c>inode-attributes</c>).</summary>
    public static bool TryParseMode(string value, out EnforcementMode mode) =>
        Enum.TryParse(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out mode) && Enum.IsDefined(mode);

    /// <summary>What is wrong with these options (null when nothing is).</summary>
    public string? Problem()
    {
        if (VerifySeconds < 1)
            return $"{Section}:VerifySeconds must be at least 1; it is {VerifySeconds}.";
        if (RescanSeconds < 1)
            return $"{Section}:RescanSeconds must be at least 1; it is {RescanSeconds}.";
        if (MaxProtected < 1 || MaxProtected > 10_000_000)
            return $"{Section}:MaxProtected must be from 1 to 10000000; it is {MaxProtected}.";
        if (MaxEntriesLookedAt < 1)
            return $"{Section}:MaxEntriesLookedAt must be at least 1; it is {MaxEntriesLookedAt}.";
        return null;
    }
}

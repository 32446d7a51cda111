namespace Platform.Agent.Enforcement;

/// <summary>An inode the agent set attributes on: which, and what it had before (given back when no rule protects it).</summary>
public sealed record LedgerEntry
{
    /// <summary>The device (<c>major:minor</c>) and inode: the name must still lead to this inode for the agent to touch it.</summary>
    public required string Device { get; init; }

    public required ulong Inode { get; init; }

    /// <summary>The attribute a rule wants on it (<see cref="InodeFlag.Immutable"/> or <see cref="InodeFlag.Append"/>).</summary>
    public required int Wanted { get; init; }

    /// <summary>The flags word before the agent set anything.</summary>
    public required int Original { get; init; }

    /// <summary>The attributes the agent added (never one the inode had before: those stay when it gives back).</summary>
    public required int Added { get; init; }
}

/// <summary>
/// What the agent set, by path, in <c>enforcement.json</c> in the state directory (mode 0600, replaced atomically,
/// flushed to disk). Written before an attribute is set and after one is given back, so a crash in between leaves an
/// entry too many (given back again, harmlessly) and never one too few: <c>Platform.Agent uninstall</c> and a rule
/// removed later always find what to give back, across restarts and after the agent was killed.
/// </summary>
public sealed class EnforcementLedger(string stateDirectory, ILogger log)
{
    public string FilePath { get; } = Path.Combine(stateDirectory, "enforcement.json");

    /// <summary>The state directory the ledger is in (never protected itself).</summary>
    public string Directory => stateDirectory;

    public Dictionary<string, LedgerEntry> Load() =>
        // Set aside, not overwritten, when unreadable: the original attributes it records can still be given back by hand.
        StateFile.Read(FilePath, AgentJsonContext.Default.DictionaryStringLedgerEntry, aside =>
            log.LogError("The enforcement ledger {Path} cannot be read; it is kept as {Aside}, and attributes set before cannot be given back by the agent", FilePath, aside))
        ?? new(StringComparer.Ordinal);

    public void Save(Dictionary<string, LedgerEntry> entries) => StateFile.Write(FilePath, entries, AgentJsonContext.Default.DictionaryStringLedgerEntry);
}

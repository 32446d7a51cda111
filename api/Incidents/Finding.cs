using System.Security.Cryptography;

namespace Platform.Api.Incidents;

/// <summary>
/// One detection: what rule, where, when, in words, and its evidence. <see cref="Key"/> is made from what was
/// detected (the events' ids and the processes), so the same events give the same finding, whoever sees them.
/// </summary>
public sealed record Finding(
    string Key,
    DetectionRule Rule,
    IncidentSeverity Severity,
    DateTimeOffset Time,
    string ContainerId,
    string? ContainerName,
    string? Image,
    string Summary,
    IReadOnlyList<LineageProcess> Lineage,
    IReadOnlyList<DetectionEvent> Events,
    IReadOnlyList<string> FimAlertIds,
    string? KeyBeforeStart = null)
{
    /// <summary>
    /// The id it has when detection had not yet seen its process start (a key naming the start): the batch with the
    /// start came later. The finding stored under it is the same finding, revised when the start comes.
    /// </summary>
    public string? EarlierId(string agentId) => KeyBeforeStart is { } key && key != Key ? (this with { Key = key }).Id(agentId) : null;

    public string Id(string agentId) => "fnd_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{agentId}|{Rule}|{Key}")))[..32];

    public IncidentCategory Category => Rules[Rule].Category;

    /// <summary>Each rule's incident category and MITRE ATT&amp;CK techniques (docs/detection.md says why).</summary>
    public static readonly IReadOnlyDictionary<DetectionRule, (IncidentCategory Category, string[] Techniques)> Rules = new Dictionary<DetectionRule, (IncidentCategory, string[])>
    {
        [DetectionRule.SensitiveReadThenEgress] = (IncidentCategory.DataExfiltration, ["T1041", "T1005"]),
        [DetectionRule.ServerSpawnedShell] = (IncidentCategory.ShellFromServer, ["T1190", "T1059.004"]),
        [DetectionRule.FimProtectedWrite] = (IncidentCategory.FimTamper, ["T1565.001"]),
        [DetectionRule.FimAttributeRemoved] = (IncidentCategory.FimTamper, ["T1222.002", "T1562.001"]),
        [DetectionRule.DownloadThenExecute] = (IncidentCategory.DownloadExecute, ["T1105"]),
        [DetectionRule.PortScan] = (IncidentCategory.PortScan, ["T1046"]),
        [DetectionRule.ReverseShell] = (IncidentCategory.ReverseShell, ["T1059.004", "T1071"]),
        [DetectionRule.CryptoMining] = (IncidentCategory.CryptoMining, ["T1496"]),
        [DetectionRule.AgentHeartbeatsMissed] = (IncidentCategory.SensorSilent, ["T1562.001"]),
        [DetectionRule.AgentProtectionStopped] = (IncidentCategory.SensorSilent, ["T1562.001"]),
    };

    /// <summary>The techniques of each rule (<see cref="Rules"/>).</summary>
    public static readonly IReadOnlyDictionary<DetectionRule, string[]> Techniques = Rules.ToDictionary(r => r.Key, r => r.Value.Techniques);
}

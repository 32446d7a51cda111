using System.Security.Cryptography;
using System.Text;
using Platform.Contracts;

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

    public IncidentCategory Category => Categories[Rule];

    public static readonly IReadOnlyDictionary<DetectionRule, IncidentCategory> Categories = new Dictionary<DetectionRule, IncidentCategory>
    {
        [DetectionRule.SensitiveReadThenEgress] = IncidentCategory.DataExfiltration,
        [DetectionRule.ServerSpawnedShell] = IncidentCategory.ShellFromServer,
        [DetectionRule.FimProtectedWrite] = IncidentCategory.FimTamper,
        [DetectionRule.FimAttributeRemoved] = IncidentCategory.FimTamper,
        [DetectionRule.DownloadThenExecute] = IncidentCategory.DownloadExecute,
        [DetectionRule.PortScan] = IncidentCategory.PortScan,
        [DetectionRule.ReverseShell] = IncidentCategory.ReverseShell,
        [DetectionRule.CryptoMining] = IncidentCategory.CryptoMining,
        [DetectionRule.AgentHeartbeatsMissed] = IncidentCategory.SensorSilent,
        [DetectionRule.AgentProtectionStopped] = IncidentCategory.SensorSilent,
    };

    /// <summary>MITRE ATT&amp;CK techniques of each rule (docs/detection.md says why).</summary>
    public static readonly IReadOnlyDictionary<DetectionRule, string[]> Techniques = new Dictionary<DetectionRule, string[]>
    {
        [DetectionRule.SensitiveReadThenEgress] = ["T1041", "T1005"],
        [DetectionRule.ServerSpawnedShell] = ["T1190", "T1059.004"],
        [DetectionRule.FimProtectedWrite] = ["T1565.001"],
        [DetectionRule.FimAttributeRemoved] = ["T1222.002", "T1562.001"],
        [DetectionRule.DownloadThenExecute] = ["T1105"],
        [DetectionRule.PortScan] = ["T1046"],
        [DetectionRule.ReverseShell] = ["T1059.004", "T1071"],
        [DetectionRule.CryptoMining] = ["T1496"],
        [DetectionRule.AgentHeartbeatsMissed] = ["T1562.001"],
        [DetectionRule.AgentProtectionStopped] = ["T1562.001"],
    };
}

namespace Platform.Contracts;

/// <summary>A MITRE ATT&amp;CK technique (or sub-technique) by its id, its name, and the tactic it serves in the platform's rules.</summary>
public sealed record AttackTechnique(string Id, string Name, string TacticId, string TacticName)
{
    /// <summary>The parent technique's id of a sub-technique (T1059 of T1059.004); null for a technique.</summary>
    public string? ParentId => Id.IndexOf('.', StringComparison.Ordinal) is var dot and > 0 ? Id[..dot] : null;
}

/// <summary>
/// The ATT&amp;CK techniques the detection rules name (api/Incidents/Finding.cs), with their names and tactics as
/// attack.mitre.org gives them, so that people and SIEMs read "Exfiltration Over C2 Channel", not only "T1041".
/// tests/Ocsf checks that every technique a rule names is here.
/// </summary>
public static class AttackTechniques
{
    private static readonly Dictionary<string, AttackTechnique> Known = new AttackTechnique[]
    {
        new("T1005", "Data from Local System", "TA0009", "Collection"),
        new("T1041", "Exfiltration Over C2 Channel", "TA0010", "Exfiltration"),
        new("T1046", "Network Service Discovery", "TA0007", "Discovery"),
        new("T1059", "Command and Scripting Interpreter", "TA0002", "Execution"),
        new("T1059.004", "Unix Shell", "TA0002", "Execution"),
        new("T1071", "Application Layer Protocol", "TA0011", "Command and Control"),
        new("T1105", "Ingress Tool Transfer", "TA0011", "Command and Control"),
        new("T1190", "Exploit Public-Facing Application", "TA0001", "Initial Access"),
        new("T1222", "File and Directory Permissions Modification", "TA0005", "Defense Evasion"),
        new("T1222.002", "Linux and Mac File and Directory Permissions Modification", "TA0005", "Defense Evasion"),
        new("T1496", "Resource Hijacking", "TA0040", "Impact"),
        new("T1562", "Impair Defenses", "TA0005", "Defense Evasion"),
        new("T1562.001", "Disable or Modify Tools", "TA0005", "Defense Evasion"),
        new("T1565", "Data Manipulation", "TA0040", "Impact"),
        new("T1565.001", "Stored Data Manipulation", "TA0040", "Impact"),
    }.ToDictionary(t => t.Id, StringComparer.Ordinal);

    /// <summary>The technique with this id; null for one the platform does not know (it is shown by id alone).</summary>
    public static AttackTechnique? Find(string id) => Known.GetValueOrDefault(id);
}

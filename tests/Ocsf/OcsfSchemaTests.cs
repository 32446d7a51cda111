using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Contracts;

namespace Platform.Tests.Ocsf;

/// <summary>
/// The validator the OCSF tests rely on, checked first: a well-formed Detection Finding passes, and each way an event
/// can break its class is caught (so a passing export means something). And the ATT&amp;CK names the mapping uses cover
/// every technique a detection rule names.
/// </summary>
public sealed class OcsfSchemaTests
{
    private static JsonObject Valid() => JsonNode.Parse("""
        {
          "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
          "activity_id": 1, "activity_name": "Create", "type_uid": 200401, "type_name": "Detection Finding: Create",
          "time": 1764930000000, "severity_id": 5, "severity": "Critical",
          "metadata": { "version": "1.7.0", "product": { "name": "Platform", "vendor_name": "Platform" }, "uid": "fnd_1" },
          "finding_info": { "uid": "fnd_1", "title": "sh read /etc/passwd then connected out",
            "analytic": { "uid": "sensitive-read-then-egress", "type_id": 1, "type": "Rule" },
            "attacks": [ { "technique": { "uid": "T1041", "name": "Exfiltration Over C2 Channel" }, "tactic": { "uid": "TA0010", "name": "Exfiltration" } } ] },
          "evidences": [ { "process": { "pid": 4232, "name": "curl", "parent_process": { "pid": 4230, "name": "sh" } } } ],
          "device": { "type_id": 1, "hostname": "web-01" }
        }
        """)!.AsObject();

    private static IReadOnlyList<string> Check(JsonObject evt) => OcsfSchema.Instance.Validate(JsonDocument.Parse(evt.ToJsonString()).RootElement);

    [Fact]
    public void A_well_formed_detection_finding_is_valid()
    {
        Assert.Empty(Check(Valid()));
        Assert.Equal("1.7.0", OcsfSchema.Instance.Version);
        Assert.Equal("Incident Finding", OcsfSchema.Instance.ClassName(2005));
    }

    public static TheoryData<string, string, string> Breaks => new()
    {
        // what is changed (a JSON pointer-like path, = a JSON value or "-" to remove), the problem's start
        { "class_uid", "4242", "class_uid 4242 is no class" },
        { "type_uid", "200402", "type_uid: 200402 but class_uid * 100 + activity_id is 200401" },
        { "category_uid", "1", "category_uid: 1 but Detection Finding (2004) is in category 2" },
        { "finding_info", "-", "finding_info: required by Detection Finding, missing" },
        { "finding_info.uid", "-", "finding_info.uid: required by Finding Information, missing" },
        { "metadata.version", "\"1.1.0\"", "metadata.version: \"1.1.0\"" },
        { "severity_id", "7", "severity_id: 7 is not one of its values" },
        { "severity", "\"Low\"", "severity: \"Low\" but severity_id 5 is \"Critical\"" },
        { "activity_name", "\"Update\"", "activity_name: \"Update\" but activity_id 1 is \"Create\"" },
        { "time", "\"2026-12-05T10:00:00Z\"", "time: \"2026-12-05T10:00:00Z\" is not a Timestamp (timestamp_t)" },
        { "severity_id", "5.5", "severity_id: 5.5 is not a Integer (integer_t)" },
        { "hostname", "\"web-01\"", "hostname: no attribute of Detection Finding" },
        { "evidences", "{}", "evidences: an array of evidences" },
        { "evidences[0].process.pid", "\"4232\"", "evidences[0].process.pid: \"4232\" is not a Integer" },
        { "evidences[0].process.parent_process.pid", "-", "evidences[0].process.parent_process: Process needs at least one of pid, uid, cpid" },
        { "evidences[0].process", "-", "evidences[0]: Evidence Artifacts needs at least one of" },
        { "finding_info.attacks[0]", "{}", "finding_info.attacks[0]: MITRE ATT&CK® & ATLAS™ needs at least one of tactic, technique, sub_technique" },
        { "device.ip", "\"not-an-ip\"", "device.ip: \"not-an-ip\" does not match" },
        { "evidences[0].dst_endpoint", "{\"port\": 70000, \"ip\": \"203.0.113.9\"}", "evidences[0].dst_endpoint.port: 70000 is out of [0,65535]" },
        { "metadata.product", "-", "metadata.product: required by Metadata, missing" },
        { "device.container", "{\"uid\": \"7f9c\"}", "device.container: an attribute of the 'container' profile" },
        { "class_name", "\"Incident Finding\"", "class_name: \"Incident Finding\" but class_uid 2004 is \"Detection Finding\"" },
    };

    [Theory]
    [MemberData(nameof(Breaks))]
    public void Each_way_of_breaking_the_class_is_caught(string path, string value, string problem)
    {
        var evt = Valid();
        Set(evt, path, value);
        var problems = Check(evt);
        Assert.Contains(problems, p => p.StartsWith(problem, StringComparison.Ordinal) || p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void An_attribute_of_a_profile_needs_the_profile_named_and_then_its_required_attributes()
    {
        var evt = JsonNode.Parse("""
            {
              "class_uid": 1007, "category_uid": 1, "activity_id": 1, "type_uid": 100701, "time": 1764930000000, "severity_id": 1,
              "metadata": { "version": "1.7.0", "product": { "name": "Platform", "vendor_name": "Platform" }, "profiles": ["host"] },
              "device": { "type_id": 1, "hostname": "web-01" },
              "actor": { "process": { "pid": 1 } },
              "process": { "pid": 4232, "container": { "uid": "7f9c" } }
            }
            """)!.AsObject();
        Assert.Contains(Check(evt), p => p.StartsWith("process.container: an attribute of the 'container' profile", StringComparison.Ordinal));
        evt["metadata"]!["profiles"] = new JsonArray("host", "container");
        Assert.Empty(Check(evt));
    }

    [Fact]
    public void Every_technique_a_detection_rule_names_has_its_name_and_tactic()
    {
        var techniques = Platform.Api.Incidents.Finding.Techniques.Values.SelectMany(t => t).Distinct().ToList();
        Assert.NotEmpty(techniques);
        Assert.All(techniques, id => Assert.True(AttackTechniques.Find(id) is not null, $"{id} has no name in contracts/AttackTechniques.cs"));
        Assert.All(techniques.Where(id => id.Contains('.')), id => Assert.NotNull(AttackTechniques.Find(AttackTechniques.Find(id)!.ParentId!)));
    }

    /// <summary>Sets (or with "-" removes) the attribute at a dotted path with [i] for array items.</summary>
    private static void Set(JsonObject root, string path, string value)
    {
        var parts = path.Split('.');
        JsonNode node = root;
        foreach (var part in parts[..^1])
            node = Step(node, part)!;
        var last = parts[^1];
        var bracket = last.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0)
        {
            node = node[last[..bracket]]!;
            last = last[bracket..];
        }
        if (last.StartsWith('['))
        {
            var index = int.Parse(last[1..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (value == "-")
                node.AsArray().RemoveAt(index);
            else
                node[index] = JsonNode.Parse(value);
            return;
        }
        if (value == "-")
            node.AsObject().Remove(last);
        else
            node[last] = JsonNode.Parse(value);
    }

    private static JsonNode? Step(JsonNode node, string part)
    {
        var bracket = part.IndexOf('[', StringComparison.Ordinal);
        return bracket < 0 ? node[part] : node[part[..bracket]]![int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture)];
    }
}

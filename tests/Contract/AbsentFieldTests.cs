using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Contract;

/// <summary>
/// The generated DTOs write what openapi.yaml allows, whatever the serializer's defaults: an optional property left
/// unset is absent (never <c>null</c>: the spec allows null only where it says nullable, and a gateway that enforces
/// the spec refuses it), a required property is always written, null included where the spec makes it nullable.
/// </summary>
public sealed class AbsentFieldTests
{
    private static JsonSerializerOptions Client => PlatformClient.SerializerOptions;

    public static TheoryData<string> OptionSets() => ["client", "spool", "defaults"];

    /// <summary>With the agent's build-time metadata too (it covers the agent's documents only, events among them).</summary>
    public static TheoryData<string> AgentOptionSets() => ["client", "spool", "defaults", "context"];

    private static JsonSerializerOptions Options(string set) => set switch
    {
        "client" => Client,
        "spool" => Spool.Json,
        "context" => new JsonSerializerOptions(Client) { TypeInfoResolver = PlatformJsonContext.Default },
        _ => new JsonSerializerOptions(JsonSerializerDefaults.Web),
    };

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Optional_properties_left_unset_are_absent(string set)
    {
        // FimRuleSpec: scope, paths' optional flags, description, exclusions... left unset.
        var rule = new FimRuleSpec { Name = "app-config", Severity = FimSeverity.High, Operations = [FimOperation.Write], Effect = FimEffect.Alert, Paths = [new FimPath { Path = "/srv/app" }] };
        var json = JsonSerializer.SerializeToNode(rule, Options(set))!.AsObject();

        Assert.False(json.ContainsKey("description"));
        Assert.Empty(json["scope"]!.AsObject()); // hostnames, labels, exclusions: absent, not null
        Assert.DoesNotContain("null", json.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void A_required_nullable_property_is_written_as_null(string set)
    {
        // IncidentAssignment.assignee: required, nullable ("null to unassign").
        var json = JsonSerializer.Serialize(new IncidentAssignment { Assignee = null }, Options(set));
        Assert.Equal("""{"assignee":null}""", json);
    }

    [Theory]
    [MemberData(nameof(AgentOptionSets))]
    public void An_event_with_only_its_required_fields_has_no_nulls(string set)
    {
        TelemetryEvent dns = new DnsQueryEvent { Id = "e-1", Time = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), Name = "example.org" };
        var json = JsonNode.Parse(JsonSerializer.Serialize(dns, Options(set)))!.AsObject();
        Assert.DoesNotContain("null", json.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(["id", "kind", "name", "time"], json.Select(p => p.Key).Order(StringComparer.Ordinal));
    }
}

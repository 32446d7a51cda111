using System.Text.Json;
using Platform.Api.Http;

namespace Platform.Tests.Contract;

/// <summary>
/// openapi.yaml as standard JSON Schema (issue 22): what the OpenAPI 3.0 keywords mean survives the conversion
/// (nullable, additionalProperties, lengths, required), and each violation is reported at the value that breaks it.
/// </summary>
public sealed class SpecSchemasTests
{
    private static IReadOnlyList<SpecViolation> Check(string component, string json)
    {
        using var document = JsonDocument.Parse(json);
        return SpecSchemas.Validate(SpecSchemas.Component(component), document.RootElement);
    }

    private const string Rule = """{"name":"etc-passwd","severity":"high","scope":{"hostnames":["web-*"]},"paths":[{"path":"/etc/passwd"}],"operations":["write"],"effect":"alert"}""";

    [Fact]
    public void A_valid_rule_passes() => Assert.Empty(Check("FimRuleSpec", Rule));

    [Theory]
    [InlineData("a null where the spec says non-nullable (array)", "\"scope\":{\"hostnames\":null},", "/scope/hostnames", "Must not be null.")]
    [InlineData("a null where the spec says non-nullable (reference)", "\"exclusions\":null,", "/exclusions", "Must not be null.")]
    [InlineData("an unknown property under additionalProperties: false", "\"owner\":\"me\",", "/owner", "Is not a field of this object.")]
    [InlineData("a maxLength violation", "\"complianceTags\":[\"pci:1\",\"pci-dss:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"],", "/complianceTags/1", "Must be at most 64 characters long.")]
    [InlineData("a pattern violation", "\"scope\":{\"hostnames\":[\"web 01\"]},", "/scope/hostnames/0", "Must match ^[A-Za-z0-9.*?!\\[\\]-]+$.")]
    [InlineData("a pattern violation where the schema gives x-messages", "\"complianceTags\":[\"PCI\"],", "/complianceTags/0", "Compliance tags look like 'pci-dss:10.5.5'.")]
    public void One_violation_is_reported_at_the_value_that_breaks_it(string what, string field, string pointer, string message)
    {
        // The first "scope" wins nowhere: a rule with two would be a duplicate, so the scope case replaces it.
        var body = field.StartsWith("\"scope\"", StringComparison.Ordinal)
            ? Rule.Replace("\"scope\":{\"hostnames\":[\"web-*\"]},", field, StringComparison.Ordinal)
            : Rule.Insert(1, field);

        var violation = Assert.Single(Check("FimRuleSpec", body));

        Assert.True(what.Length > 0);
        Assert.Equal(pointer, violation.Pointer);
        Assert.Equal(message, violation.Message);
    }

    [Fact]
    public void Null_where_the_spec_says_nullable_passes() =>
        Assert.Empty(Check("FimRuleSpec", Rule.Insert(1, "\"description\":null,")));

    [Fact]
    public void A_nullable_reference_takes_null_and_still_checks_a_value()
    {
        Assert.Empty(Check("IncidentStatusChange", """{"status":"open","reason":null}"""));
        var violation = Assert.Single(Check("IncidentStatusChange", "{\"status\":\"open\",\"reason\":\"" + new string('r', 2001) + "\"}"));
        Assert.Equal("/reason", violation.Pointer);
    }

    [Fact]
    public void A_missing_required_field_is_named_at_its_own_pointer()
    {
        var violation = Assert.Single(Check("FimRuleSpec", Rule.Replace(",\"operations\":[\"write\"]", "", StringComparison.Ordinal)));

        Assert.Equal("/operations", violation.Pointer);
    }

    [Fact]
    public void Operation_schemas_are_the_spec_request_and_response_bodies()
    {
        Assert.NotNull(SpecSchemas.RequestBody("createFimRule", "application/json"));
        Assert.NotNull(SpecSchemas.RequestBody("applyFimRuleSet", "application/yaml"));
        Assert.Null(SpecSchemas.RequestBody("applyFimRuleSet", "text/yaml"));
        Assert.Equal(["application/json", "application/yaml"], SpecSchemas.RequestMediaTypes("applyFimRuleSet").Order());
        Assert.True(SpecSchemas.HasRawBody("pushTelemetry"));

        var created = SpecSchemas.Response("createFimRule", 201, "application/json");
        Assert.NotNull(created);
        Assert.NotNull(SpecSchemas.Response("createFimRule", 400, "application/problem+json"));
    }

    [Fact]
    public void The_document_is_draft_2020_12_with_the_components_as_defs()
    {
        var document = SpecSchemas.Document;

        Assert.Equal("https://json-schema.org/draft/2020-12/schema", document["$schema"]!.GetValue<string>());
        Assert.NotNull(document["$defs"]!["FimRuleSpec"]);
        Assert.DoesNotContain("\"nullable\"", document.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("#/components/schemas/", document.ToJsonString(), StringComparison.Ordinal);
    }
}

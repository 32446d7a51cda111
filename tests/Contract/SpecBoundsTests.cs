using System.Text.Json;
using Platform.Api.Http;

namespace Platform.Tests.Contract;

/// <summary>
/// A value past its schema's size limits is refused on one pass before JsonSchema.Net evaluates it (issue 22: no
/// request may cost more than a bounded amount of CPU). What shows that evaluation did not run: the answer names the
/// limit alone, not the violations inside the oversized list, and says it stopped short.
/// </summary>
public sealed class SpecBoundsTests
{
    private static IReadOnlyList<SpecViolation> Check(string component, string json, out bool partial)
    {
        using var document = JsonDocument.Parse(json);
        return SpecSchemas.Validate(SpecSchemas.Component(component), document.RootElement, out partial);
    }

    private static string Rule(string name = "etc-passwd", string paths = """{"path":"/etc/passwd"}""", string scope = """{"hostnames":["web-*"]}""", string extra = "") =>
        $$"""{{{extra}}"name":"{{name}}","severity":"high","scope":{{scope}},"paths":[{{paths}}],"operations":["write"],"effect":"alert"}""";

    private static string Paths(int count) => string.Join(",", Enumerable.Range(0, count).Select(i => $$"""{"path":"/etc/p{{i}}"}"""));

    [Fact]
    public void A_rule_set_at_its_limits_is_evaluated_and_passes()
    {
        var rules = string.Join(",", Enumerable.Range(0, 1000).Select(i => Rule($"r{i}", Paths(3))));

        Assert.Empty(Check("FimRuleSet", $$"""{"rules":[{{rules}}]}""", out var partial));
        Assert.False(partial);
    }

    [Fact]
    public void A_list_one_past_its_max_items_is_refused_for_its_length_alone()
    {
        // The second rule's name breaks its pattern too; it is not read, since the list is refused for its length.
        var rules = string.Join(",", Enumerable.Range(0, 1001).Select(i => Rule(i == 1 ? "-bad" : $"r{i}")));

        var violation = Assert.Single(Check("FimRuleSet", $$"""{"rules":[{{rules}}]}""", out var partial));

        Assert.Equal(new SpecViolation("/rules", "Must hold at most 1000 items."), violation);
        Assert.True(partial);
    }

    [Fact]
    public void A_nested_list_past_its_max_items_is_named_where_it_is()
    {
        var rules = Rule("r0") + "," + Rule("-bad", Paths(101));

        var violation = Assert.Single(Check("FimRuleSet", $$"""{"rules":[{{rules}}]}""", out _));

        Assert.Equal(new SpecViolation("/rules/1/paths", "Must hold at most 100 items."), violation);
    }

    [Fact]
    public void A_map_past_its_max_properties_is_refused_for_its_size()
    {
        var labels = string.Join(",", Enumerable.Range(0, 65).Select(i => $"\"l{i}\":\"v\""));

        var violation = Assert.Single(Check("FimRuleSpec", Rule(scope: "{\"labels\":{" + labels + "}}"), out var partial));

        Assert.Equal(new SpecViolation("/scope/labels", "Must hold at most 64 entries."), violation);
        Assert.True(partial);
    }

    [Fact]
    public void More_unknown_fields_than_are_listed_are_counted_without_evaluation()
    {
        var unknown = string.Join("", Enumerable.Range(0, 150).Select(i => $"\"k{i}\":0,"));

        var violations = Check("FimRuleSpec", Rule("-bad", extra: unknown), out var partial);

        Assert.True(partial);
        Assert.Equal(SpecSchemas.MaxViolations + 1, violations.Count);
        Assert.All(violations.Take(SpecSchemas.MaxViolations), v => Assert.Equal("Is not a field of this object.", v.Message));
        Assert.Equal(new SpecViolation("", "And 50 more violations: at most 100 are listed."), violations[^1]);
        Assert.DoesNotContain(violations, v => v.Pointer == "/name");
    }

    [Fact]
    public void A_few_unknown_fields_are_listed_beside_every_other_violation()
    {
        // Within its limits a body is evaluated whole, so one 400 names every field at fault.
        var violations = Check("FimRuleSpec", Rule("-bad", extra: "\"owner\":\"me\","), out var partial);

        Assert.False(partial);
        Assert.Contains(new SpecViolation("/owner", "Is not a field of this object."), violations);
        Assert.Contains(violations, v => v.Pointer == "/name");
    }
}

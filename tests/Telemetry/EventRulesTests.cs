using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Platform.Api.Http;
using Platform.Api.Telemetry;
using Platform.Contracts;

namespace Platform.Tests.Telemetry;

/// <summary>
/// The ingest reader's checks (<see cref="EventBatch"/>, rules read from openapi.yaml by <see cref="EventRules"/>) against
/// a standard JSON Schema validator over the same document (<see cref="SpecSchemas"/>): each field of each kind at its
/// limits, past them and null, so that a limit restated by hand, or one the reader stops reading from the spec, fails here.
/// </summary>
public sealed class EventRulesTests
{
    private static readonly Json.Schema.JsonSchema Event = SpecSchemas.Component("TelemetryEvent");

    private const string Time = "2026-11-22T10:00:00Z";

    /// <summary>A valid event of each kind, with a container (and stdio for process_start) so that their fields can be varied.</summary>
    private static readonly Dictionary<TelemetryEventKind, string> Valid = new()
    {
        [TelemetryEventKind.Process_start] = """{"kind":"process_start","id":"e","time":"T","pid":1,"executable":"/bin/sh","container":{"id":"c"},"stdio":{}}""",
        [TelemetryEventKind.Process_exit] = """{"kind":"process_exit","id":"e","time":"T","pid":1,"container":{"id":"c"}}""",
        [TelemetryEventKind.File_access] = """{"kind":"file_access","id":"e","time":"T","path":"/etc/passwd","operation":"read","container":{"id":"c"}}""",
        [TelemetryEventKind.Network_connect] = """{"kind":"network_connect","id":"e","time":"T","protocol":"tcp","remoteAddress":"10.0.0.1","remotePort":80,"container":{"id":"c"}}""",
        [TelemetryEventKind.Network_listen] = """{"kind":"network_listen","id":"e","time":"T","protocol":"tcp","localPort":80,"container":{"id":"c"}}""",
        [TelemetryEventKind.Dns_query] = """{"kind":"dns_query","id":"e","time":"T","name":"example.org","container":{"id":"c"}}""",
        [TelemetryEventKind.Coverage_gap] = """{"kind":"coverage_gap","id":"e","time":"T","until":"T","reason":"agent-down","container":{"id":"c"}}""",
    };

    /// <summary>Fields whose text must also be something a schema cannot say (this agent's host name, an address that parses).</summary>
    private static readonly Field[] BeyondTheSchema = [Field.Hostname, Field.LocalAddress, Field.RemoteAddress, Field.StdioRemoteAddress];

    private static JsonObject Parse(TelemetryEventKind kind) => JsonNode.Parse(Valid[kind].Replace("\"T\"", $"\"{Time}\"", StringComparison.Ordinal))!.AsObject();

    private static (bool Schema, bool Server) Accepted(JsonObject e)
    {
        using var document = JsonDocument.Parse(e.ToJsonString());
        var schema = SpecSchemas.Validate(Event, document.RootElement).Count == 0;
        using var batch = EventBatch.Read(Encoding.UTF8.GetBytes($$"""{"id":"b","sequence":1,"events":[{{e.ToJsonString()}}]}"""), "web-01");
        return (schema, batch.Errors is null);
    }

    /// <summary>Sets a field by its key (<c>container.name</c>, <c>stdio.stdin</c>, <c>path</c>).</summary>
    private static JsonObject With(TelemetryEventKind kind, Field field, JsonNode? value)
    {
        var e = Parse(kind);
        var key = EventRules.Key(field).Split('.');
        (key.Length == 1 ? e : e[key[0]]!.AsObject())[key[^1]] = value;
        return e;
    }

    public static TheoryData<TelemetryEventKind> Kinds()
    {
        var kinds = new TheoryData<TelemetryEventKind>();
        foreach (var kind in Enum.GetValues<TelemetryEventKind>())
            kinds.Add(kind);
        return kinds;
    }

    private static IEnumerable<Field> Fields(long bits) => Enum.GetValues<Field>().Where(f => (bits & 1L << (int)f) != 0);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kinds_valid_example_is_valid_for_both(TelemetryEventKind kind) => Assert.Equal((true, true), Accepted(Parse(kind)));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_null_is_refused_where_the_schema_refuses_it_and_taken_where_an_optional_field_allows_it(TelemetryEventKind kind)
    {
        var rules = EventRules.Spec.Of(kind)!;
        foreach (var field in Fields(rules.Allowed))
        {
            var (schema, server) = Accepted(With(kind, field, null));
            Assert.True(schema == server, $"{kind} {EventRules.Key(field)}: null; schema accepts {schema}, server {server}");
            // The server takes null for an optional field as its absence; a required one must have a value.
            if ((rules.Required & 1L << (int)field) != 0)
                Assert.False(server, $"{kind} {EventRules.Key(field)} is required: null must be refused");
        }

        var nullContainer = Parse(kind);
        nullContainer["container"] = null;
        Assert.Equal((false, false), Accepted(nullContainer));
    }

    /// <summary>The shared value schemas of events and their nullable twins, which optional fields refer to.</summary>
    [Theory]
    [InlineData("Pid")]
    [InlineData("Port")]
    [InlineData("IpAddress")]
    public void A_value_schema_refuses_null_and_its_or_null_twin_differs_from_it_only_in_taking_null(string name)
    {
        var defs = SpecSchemas.Document["$defs"]!.AsObject();
        var value = defs[name]!.AsObject();
        var orNull = defs[name + "OrNull"]!.AsObject();
        Assert.IsType<JsonValue>(value["type"], exactMatch: false); // one type: no null
        var types = Assert.IsType<JsonArray>(orNull["type"]);
        Assert.Equal([(string?)value["type"], "null"], types.Select(t => (string?)t));

        static JsonObject Constraints(JsonObject schema)
        {
            var copy = schema.DeepClone().AsObject();
            copy.Remove("type");
            copy.Remove("description");
            return copy;
        }

        Assert.True(JsonNode.DeepEquals(Constraints(value), Constraints(orNull)), $"{name}OrNull restates {name}'s constraints differently");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Strings_arrays_and_integers_are_taken_at_the_specs_limits_and_refused_past_them(TelemetryEventKind kind)
    {
        var rules = EventRules.Spec.Of(kind)!;
        foreach (var field in Fields(rules.Allowed).Except(BeyondTheSchema))
        {
            if (rules.Limits[(int)field] is not { } limit)
                continue;
            var cases = new List<(JsonNode? Value, bool Valid, string What)>();
            switch (limit.Type)
            {
                case EventRules.FieldType.String when limit.MaxLength < int.MaxValue:
                    cases.Add((Text(field, limit.MaxLength), true, "at maxLength"));
                    cases.Add((Text(field, limit.MaxLength + 1), false, "past maxLength"));
                    // Counted in UTF-16 code units as JSON Schema counts them: 'é' is two UTF-8 bytes, one unit.
                    if (limit.Pattern is null)
                        cases.Add((Text(field, limit.MaxLength, 'é'), true, "at maxLength, two bytes a character"));
                    if (limit.MinLength > 0)
                        cases.Add((Text(field, limit.MinLength - 1), false, "under minLength"));
                    break;
                case EventRules.FieldType.Array:
                    cases.Add((Items(limit.MaxItems, limit.MaxLength), true, "at maxItems, items at maxLength"));
                    cases.Add((Items(limit.MaxItems + 1, 1), false, "past maxItems"));
                    cases.Add((Items(1, limit.MaxLength + 1), false, "an item past maxLength"));
                    break;
                case EventRules.FieldType.Integer:
                    cases.Add((limit.Minimum, true, "at minimum"));
                    cases.Add((limit.Maximum, true, "at maximum"));
                    if (limit.Minimum > long.MinValue)
                        cases.Add((limit.Minimum - 1, false, "under minimum"));
                    if (limit.Maximum < long.MaxValue)
                        cases.Add((limit.Maximum + 1, false, "past maximum"));
                    break;
            }

            foreach (var (value, valid, what) in cases)
                Assert.True((valid, valid) == Accepted(With(kind, field, value)), $"{kind} {EventRules.Key(field)} {what}: schema and server should both {(valid ? "accept" : "refuse")} it");
        }
    }

    private static JsonNode Text(Field field, int length, char fill = 'a') =>
        field == Field.Path && length > 0 ? "/" + new string(fill, length - 1) : new string(fill, length);

    private static JsonArray Items(int count, int length) => new(Enumerable.Range(0, count).Select(_ => (JsonNode?)new string('a', length)).ToArray());

    [Fact]
    public void An_unknown_kind_is_refused_by_both()
    {
        var e = Parse(TelemetryEventKind.Dns_query);
        e["kind"] = "dns_answer";
        Assert.Equal((false, false), Accepted(e));
    }

    /// <summary>The byte checks the reader keeps for speed, each with the pattern of the schema it stands for.</summary>
    public static TheoryData<string, string> HandPatterns() => new()
    {
        { "TelemetryBatch.id", EventRules.Spec.BatchId.Pattern! },
        { "event id", Limits(TelemetryEventKind.Dns_query, Field.Id).Pattern! },
        { "container.id", Limits(TelemetryEventKind.Dns_query, Field.ContainerId).Pattern! },
        { "path", Limits(TelemetryEventKind.File_access, Field.Path).Pattern! },
        { "redacted[]", Limits(TelemetryEventKind.Dns_query, Field.Redacted).ItemPattern! },
    };

    private static EventRules.Limit Limits(TelemetryEventKind kind, Field field) => EventRules.Spec.Of(kind)!.Limits[(int)field]!;

    private static Func<ReadOnlySpan<byte>, bool> HandCheck(string name) => name switch
    {
        "TelemetryBatch.id" or "event id" => EventBatch.IsClientId,
        "container.id" => EventBatch.IsContainerId,
        "path" => EventBatch.IsAbsolutePath,
        _ => EventBatch.IsReasonName,
    };

    [Theory]
    [MemberData(nameof(HandPatterns))]
    public void Each_hand_pattern_check_matches_what_the_specs_pattern_matches(string name, string pattern)
    {
        // JSON Schema's patterns are ECMA-262's, where '$' ends the text; .NET's '$' also matches before a final newline.
        var regex = new Regex(pattern.EndsWith('$') ? pattern[..^1] + @"\z" : pattern, RegexOptions.CultureInvariant);
        var check = HandCheck(name);
        // Every ASCII character and a few beyond, alone, first, last and in the middle (lengths are the maxLength's, checked apart).
        var characters = Enumerable.Range(0, 128).Select(c => ((char)c).ToString()).Concat(["é", "ß", "中", "\u2028"]);
        var samples = characters.SelectMany(c => new[] { c, c + "a", "a" + c, "a" + c + "9", "/" + c }).Append("").Append("a-1_b.c:d");
        foreach (var sample in samples)
            Assert.True(regex.IsMatch(sample) == check(Encoding.UTF8.GetBytes(sample)), $"{name}: '{sample}' (U+{(sample.Length > 0 ? (int)sample[^1] : 0):X4}) {(regex.IsMatch(sample) ? "matches" : "does not match")} {pattern}");
    }

    [Fact]
    public void Every_pattern_of_the_ingest_schemas_has_a_hand_check()
    {
        var covered = new HashSet<Field> { Field.Id, Field.ContainerId, Field.Path, Field.Redacted };
        foreach (var kind in Enum.GetValues<TelemetryEventKind>())
        {
            var limits = EventRules.Spec.Of(kind)!.Limits;
            var patterned = Enum.GetValues<Field>().Where(f => limits[(int)f] is { } l && (l.Pattern ?? l.ItemPattern) is not null);
            Assert.All(patterned, f => Assert.Contains(f, covered));
        }
    }

    [Fact]
    public void The_reader_takes_exactly_each_enum_fields_values_in_the_spec()
    {
        foreach (var kind in Enum.GetValues<TelemetryEventKind>())
        {
            var limits = EventRules.Spec.Of(kind)!.Limits;
            foreach (var field in Enum.GetValues<Field>().Where(f => limits[(int)f]?.Enum is not null && f != Field.Redacted))
                Assert.Equal(limits[(int)field]!.Enum!, EventBatch.SpecValues(field));
        }
    }
}

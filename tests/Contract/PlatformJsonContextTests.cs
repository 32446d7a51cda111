using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Platform.Agent.Delivery;
using Platform.Contracts;

namespace Platform.Tests.Contract;

/// <summary>
/// The metadata generated at build time for the agent's documents (PlatformJsonContext) against the reflection-based
/// serializer it stands in for: the same JSON both ways, enums as the spec's strings and numbers refused, and with
/// reflection turned off (as in a NativeAOT build of the agent).
/// </summary>
public sealed class PlatformJsonContextTests
{
    private static readonly JsonSerializerOptions Client = (JsonSerializerOptions)typeof(PlatformClient)
        .GetProperty("JsonSerializerSettings", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(new PlatformClient(new HttpClient()))!;

    /// <summary>The client's options as they were before the context: reflection and the non-generic enum converter only.</summary>
    private static JsonSerializerOptions ReflectionOnly(JsonSerializerOptions options)
    {
        var reflection = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        foreach (var converter in PlatformJsonContext.EnumConverters)
            reflection.Converters.Remove(converter);
        return reflection;
    }

    /// <summary>The options as a NativeAOT build has them: the context's metadata and the enums' converters, no reflection.</summary>
    private static JsonSerializerOptions WithoutReflection(JsonSerializerOptions options)
    {
        var aot = new JsonSerializerOptions(options) { TypeInfoResolver = PlatformJsonContext.Default };
        aot.Converters.Remove(aot.Converters.Single(c => c.GetType() == typeof(JsonStringEnumConverter)));
        return aot;
    }

    private static FimAlertReport Alert() => new()
    {
        Id = "a-1",
        Time = new DateTimeOffset(2026, 11, 22, 10, 1, 2, TimeSpan.Zero),
        RuleId = "r-1",
        RuleVersion = 3,
        Path = "/etc/passwd",
        Action = FimOperation.Metadata,
        Effect = FimAlertEffect.Prevented,
        Attribution = FimAttribution.Unavailable,
        AttributionReason = "gone",
    };

    private static FimPolicy Policy() => new()
    {
        AgentId = "agent-1",
        Rules = [new FimRule { Id = "r-1", Name = "passwd", Operations = [FimOperation.Write, FimOperation.Metadata], Severity = FimSeverity.Critical }],
    };

    private static IEnumerable<object> Documents() =>
    [
        Alert(),
        new FimAlertBatch { Alerts = [Alert()] },
        Policy(),
        new TelemetryBatch { Id = "b-1", Sequence = 7, Events = TelemetryBatchWriterTests.EventKinds.Select(TelemetryBatchWriterTests.Filled).ToList() },
        new ProblemDetails { Type = "about:blank", Title = "Bad", Status = 400, Detail = "x" },
    ];

    public static TheoryData<string> OptionSets() => ["client", "spool"];

    private static JsonSerializerOptions Options(string set) => set == "client" ? Client : Spool.Json;

    [Fact]
    public void Every_enum_of_the_contract_has_its_strict_converter()
    {
        var enums = typeof(PlatformClient).Assembly.GetTypes().Where(t => t.IsEnum && t.IsPublic).ToHashSet();
        var converted = PlatformJsonContext.EnumConverters.Select(c => c.GetType().GetGenericArguments().Single()).ToHashSet();
        Assert.Empty(enums.Except(converted));
        Assert.Empty(converted.Except(enums));
    }

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void The_generated_metadata_writes_what_reflection_writes(string set)
    {
        var options = Options(set);
        foreach (var document in Documents())
        {
            var type = document.GetType();
            var expected = JsonNode.Parse(JsonSerializer.Serialize(document, type, ReflectionOnly(options)))!;
            var written = JsonNode.Parse(JsonSerializer.Serialize(document, WithoutReflection(options).GetTypeInfo(type)))!;
            Assert.True(JsonNode.DeepEquals(expected, written), $"{type.Name}: expected {expected.ToJsonString()}\nwritten  {written.ToJsonString()}");

            var read = JsonSerializer.Deserialize(expected.ToJsonString(), WithoutReflection(options).GetTypeInfo(type))!;
            var again = JsonNode.Parse(JsonSerializer.Serialize(read, type, ReflectionOnly(options)))!;
            Assert.True(JsonNode.DeepEquals(expected, again), $"{type.Name} read back: expected {expected.ToJsonString()}\nread  {again.ToJsonString()}");
        }
    }

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void Enums_travel_as_the_spec_strings_and_numbers_are_refused_without_reflection(string set)
    {
        var options = WithoutReflection(Options(set));
        var policy = JsonSerializer.Serialize(Policy(), options.TypeInfo<FimPolicy>());
        Assert.Contains("\"operations\":[\"write\",\"metadata\"]", policy, StringComparison.Ordinal);

        // An enum in a list has no converter on its property: the options' converter refuses numbers. (An enum property
        // carries the generated code's own converter, which reads numbers; that is as before this context.)
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(policy.Replace("[\"write\",\"metadata\"]", "[1,2]", StringComparison.Ordinal), options.TypeInfo<FimPolicy>()));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(policy.Replace("[\"write\",\"metadata\"]", "[\"1\"]", StringComparison.Ordinal), options.TypeInfo<FimPolicy>()));
        var alert = JsonSerializer.Serialize(Alert(), options.TypeInfo<FimAlertReport>());
        Assert.Contains("\"effect\":\"prevented\"", alert, StringComparison.Ordinal);
        Assert.Contains("\"action\":\"metadata\"", alert, StringComparison.Ordinal);
    }
}

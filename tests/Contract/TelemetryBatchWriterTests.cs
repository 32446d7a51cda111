using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Contracts;

namespace Platform.Tests.Contract;

/// <summary>The client's hand-written batch writer against the serializer it stands in for.</summary>
public sealed class TelemetryBatchWriterTests
{
    private static readonly JsonSerializerOptions Client = (JsonSerializerOptions)typeof(PlatformClient)
        .GetProperty("JsonSerializerSettings", BindingFlags.Instance | BindingFlags.NonPublic)!.GetValue(new PlatformClient(new HttpClient()))!;

    private static readonly JsonSerializerOptions Serializer = WithoutBatchWriter();

    private static JsonSerializerOptions WithoutBatchWriter()
    {
        var options = new JsonSerializerOptions(Client);
        Assert.Equal(1, options.Converters.Count(c => c.GetType().Name == "TelemetryBatchWriter"));
        options.Converters.Remove(options.Converters.Single(c => c.GetType().Name == "TelemetryBatchWriter"));
        return options;
    }

    internal static readonly Type[] EventKinds = typeof(TelemetryEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(TelemetryEvent))).ToArray();

    /// <summary>An event of the kind with every property of the contract set (none null, enums not their first value).</summary>
    internal static TelemetryEvent Filled(Type kind)
    {
        var e = (TelemetryEvent)Activator.CreateInstance(kind)!;
        foreach (var property in kind.GetProperties().Where(p => p.CanWrite && p.Name != nameof(TelemetryEvent.AdditionalProperties)))
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(e, type switch
            {
                _ when type == typeof(string) => $"{property.Name} \"quoted\" \u00e9",
                _ when type == typeof(int) => 1234,
                _ when type == typeof(long) => 4_000_000_000L,
                _ when type == typeof(DateTimeOffset) => new DateTimeOffset(2026, 11, 22, 10, 1, 2, TimeSpan.Zero).AddTicks(1234567),
                _ when type == typeof(ContainerRef) => new ContainerRef { Id = "7f9c2ba4e88f", Name = "web-7f9c", Image = "struts2-app:2.5" },
                _ when type == typeof(IReadOnlyList<string>) => new List<string> { "-c", "cp /etc/passwd /tmp/p" },
                _ when type == typeof(ProcessStdio) => new ProcessStdio { Stdin = StdioKind.Socket, Stdout = StdioKind.Tty, Stderr = StdioKind.Other, RemoteAddress = "203.0.113.9", RemotePort = 4444 },
                _ when type.IsEnum => Enum.GetValues(type).Cast<object>().Last(),
                _ => throw new InvalidOperationException($"{kind.Name}.{property.Name} is of a type this test does not fill ({type}): teach it, and TelemetryBatchWriter."),
            });
        }

        return e;
    }

    private static JsonNode WithoutNulls(JsonNode node)
    {
        if (node is JsonObject o)
            foreach (var (name, value) in o.ToList())
            {
                if (value is null)
                    o.Remove(name);
                else
                    WithoutNulls(value);
            }
        else if (node is JsonArray a)
            foreach (var item in a)
                WithoutNulls(item!);
        return node;
    }

    private static void AssertWrittenAsTheSerializerWould(TelemetryBatch batch)
    {
        var written = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(batch, Client))!;
        var expected = WithoutNulls(JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(batch, Serializer))!);
        Assert.True(JsonNode.DeepEquals(expected, written), $"expected {expected.ToJsonString()}\nwritten  {written.ToJsonString()}");
    }

    [Fact]
    public void Every_property_of_every_event_kind_is_written_as_the_serializer_writes_it()
    {
        Assert.Equal(7, EventKinds.Length);
        AssertWrittenAsTheSerializerWould(new TelemetryBatch { Id = "b-1", Sequence = 42, Events = EventKinds.Select(Filled).ToList() });
    }

    [Fact]
    public void Unset_optional_properties_are_left_out_where_the_serializer_writes_nulls()
    {
        var bare = EventKinds.Select(k => (TelemetryEvent)Activator.CreateInstance(k)!).ToList();
        foreach (var e in bare)
            e.Id = "e";
        var batch = new TelemetryBatch { Id = "b-2", Sequence = 1, Events = bare };

        AssertWrittenAsTheSerializerWould(batch);
        Assert.DoesNotContain("null", System.Text.Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(batch, Client)));
    }

    [Fact]
    public void Events_with_properties_beyond_the_contract_are_left_to_the_serializer()
    {
        var e = Filled(typeof(DnsQueryEvent));
        e.AdditionalProperties["vendorField"] = "kept";
        var batch = new TelemetryBatch { Id = "b-3", Sequence = 1, Events = [e] };

        Assert.Equal(JsonSerializer.Serialize(batch, Serializer), JsonSerializer.Serialize(batch, Client));
        Assert.Contains("vendorField", JsonSerializer.Serialize(batch, Client));
    }

    [Fact]
    public void A_batch_is_read_back_by_the_serializer()
    {
        var batch = new TelemetryBatch { Id = "b-4", Sequence = 7, Events = EventKinds.Select(Filled).ToList() };

        var read = JsonSerializer.Deserialize<TelemetryBatch>(JsonSerializer.SerializeToUtf8Bytes(batch, Client), Client)!;

        Assert.Equal(EventKinds, read.Events.Select(e => e.GetType()));
        Assert.Equal(JsonSerializer.Serialize(batch, Client), JsonSerializer.Serialize(read, Client));
    }
}

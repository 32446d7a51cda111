using System.Text.Json.Nodes;

namespace Platform.Api.Telemetry;

/// <summary>
/// What openapi.yaml says of a pushed batch (TelemetryBatch and the event schemas of TelemetryEvent's <c>oneOf</c>),
/// read once from <see cref="SpecSchemas.Document"/> into flat tables that <see cref="EventBatch"/> looks up in its one
/// pass: which fields each kind allows and requires, which may be null, string lengths, array sizes and integer
/// ranges. Ingest takes hundreds of thousands of events a second, so no schema is evaluated per event; and a
/// property the spec adds that the reader has no field for fails the start rather than going unchecked.
/// What a schema cannot say (an address that parses, the agent's own host name, until not before time) and the
/// patterns, kept as byte checks for speed, stay in EventBatch.Checks.cs; tests hold those to the spec's patterns.
/// </summary>
public sealed class EventRules
{
    private static readonly Lazy<EventRules> Loaded = new(() => new EventRules(SpecSchemas.Document));

    /// <summary>The rules of the contract this API serves.</summary>
    public static EventRules Spec => Loaded.Value;

    /// <summary>Reads the rules now (at start-up), so a contract the reader does not fit fails the start, not a push.</summary>
    public static void Load() => _ = Loaded.Value;

    private const int FieldCount = EventJson.FieldCount;

    public enum FieldType { None, String, Integer, Array, Other }

    /// <summary>One field's constraints in one kind's schema, and the messages that name them.</summary>
    public sealed record Limit(FieldType Type, int MinLength, int MaxLength, int MaxItems, long Minimum, long Maximum, string? Pattern, string? ItemPattern, string[]? Enum, string Message);

    /// <summary>One kind's fields as bit masks (bit <c>1 &lt;&lt; (int)Field</c>) and each field's limits.</summary>
    public sealed record Kind(string Schema, long Allowed, long Required, long Nullable, bool ContainerNullable, Limit?[] Limits);

    private readonly Kind?[] _kinds;

    /// <summary>The kind's rules (null for a value that is no kind).</summary>
    public Kind? Of(TelemetryEventKind kind) => (uint)kind < (uint)_kinds.Length ? _kinds[(int)kind] : null;

    /// <summary>TelemetryBatch's own fields.</summary>
    public Limit BatchId { get; }

    public Limit Sequence { get; }

    public int MinEvents { get; }

    public int MaxEvents { get; }

    /// <summary>The longest text a date-time field (time, until) may be.</summary>
    public int MaxTimeLength { get; }

    /// <summary>The container's fields an event must give when it names a container (ContainerRef's required).</summary>
    public long ContainerRequired { get; }

    /// <summary>The longest a string field may be in any kind (redaction keeps replaced text within it).</summary>
    public int MaxLengthOf(Field field) => _kinds.Max(k => k?.Limits[(int)field] is { Type: FieldType.String or FieldType.Array } l ? l.MaxLength : 0);

    /// <summary>The field's name in an error key: <c>container.name</c>, <c>stdio.stdin</c>, <c>path</c>.</summary>
    public static string Key(Field field) => field is Field.ContainerId or Field.ContainerName or Field.ContainerImage ? "container." + EventBatch.Names[(int)field] : EventBatch.Names[(int)field];

    private readonly JsonObject _defs;

    private EventRules(JsonObject document)
    {
        _defs = document["$defs"]!.AsObject();
        var batch = Resolve(_defs["TelemetryBatch"]!);
        var batchProperties = batch["properties"]!.AsObject();
        BatchId = LimitOf("id", Resolve(batchProperties["id"]!));
        Sequence = LimitOf("sequence", Resolve(batchProperties["sequence"]!));
        var events = Resolve(batchProperties["events"]!);
        MinEvents = (int?)Number(events, "minItems") ?? 0;
        MaxEvents = (int?)Number(events, "maxItems") ?? int.MaxValue;
        if (MaxEvents > EventBatch.MaxEvents)
            throw new InvalidOperationException($"openapi.yaml allows {MaxEvents} events a batch; the ingest reader holds at most {EventBatch.MaxEvents}.");

        var byKey = Enum.GetValues<Field>().ToDictionary(Key, StringComparer.Ordinal);
        Field? Find(string key) => byKey.TryGetValue(key, out var field) ? field : null;
        var container = Resolve(_defs["ContainerRef"]!);
        ContainerRequired = Bits(container["required"], name => Find("container." + name));

        _kinds = new Kind?[Enum.GetValues<TelemetryEventKind>().Length];
        var timeLength = 0;
        foreach (var option in _defs["TelemetryEvent"]!["oneOf"]!.AsArray())
        {
            var schemaName = ((string)option!["$ref"]!).Split('/')[^1];
            var parts = _defs[schemaName]!["allOf"]!.AsArray().Select(p => Resolve(p!)).ToArray();
            var own = parts.Single(p => p["additionalProperties"] is JsonValue closed && closed.GetValueKind() == JsonValueKind.False);
            var baseSchema = parts.Single(p => p != own);
            var kindValue = (string)own["properties"]!["kind"]!["enum"]![0]!;
            var kind = SpecEnum.FindUtf8<TelemetryEventKind>(System.Text.Encoding.UTF8.GetBytes(kindValue))
                ?? throw new InvalidOperationException($"openapi.yaml's {schemaName} is of kind '{kindValue}', which the contracts do not know.");

            long allowed = 0, nullable = 0;
            var containerNullable = true;
            var limits = new Limit?[FieldCount];
            foreach (var (name, declared) in own["properties"]!.AsObject())
            {
                if (name == "kind")
                    continue;
                var schema = declared is JsonObject { Count: 0 } ? baseSchema["properties"]![name]! : declared!;
                var resolved = Resolve(schema);
                if (resolved["properties"] is JsonObject nested)
                {
                    // An object of fields (container, stdio): the object itself, then each of its fields.
                    if (byKey.TryGetValue(name, out var whole))
                    {
                        allowed |= Bit(whole);
                        if (IsNullable(schema))
                            nullable |= Bit(whole);
                    }
                    else if (name == "container")
                        containerNullable = IsNullable(schema);
                    else
                        throw Unknown(schemaName, name);

                    foreach (var (part, partSchema) in nested)
                        Add(name + "." + part, partSchema!);
                    continue;
                }

                Add(name, schema);
            }

            var required = Bits(baseSchema["required"], Find) | Bits(own["required"], Find);
            _kinds[(int)kind] = new Kind(schemaName, allowed, required, nullable, containerNullable, limits);

            void Add(string key, JsonNode schema)
            {
                if (!byKey.TryGetValue(key, out var field))
                    throw Unknown(schemaName, key);
                allowed |= Bit(field);
                if (IsNullable(schema))
                    nullable |= Bit(field);
                var limit = LimitOf(key, Resolve(schema));
                limits[(int)field] = limit;
                if (field is Field.Time or Field.Until)
                    timeLength = Math.Max(timeLength, limit.MaxLength);
            }
        }

        if (_kinds.Any(k => k is null))
            throw new InvalidOperationException("openapi.yaml's TelemetryEvent does not list a schema for every event kind.");
        MaxTimeLength = timeLength;
    }

    private static InvalidOperationException Unknown(string schema, string property) =>
        new($"openapi.yaml's {schema} has a property '{property}' the ingest reader (EventBatch) has no field for.");

    private static long Bit(Field field) => 1L << (int)field;

    private static long Bits(JsonNode? names, Func<string, Field?> field) =>
        names is JsonArray list ? list.Select(n => field((string)n!)).Where(f => f is not null).Aggregate(0L, (bits, f) => bits | Bit(f!.Value)) : 0;

    /// <summary>A schema with its <c>$ref</c>s (into <c>$defs</c>) and single-branch <c>allOf</c>s followed.</summary>
    private JsonObject Resolve(JsonNode schema)
    {
        for (var hops = 0; hops < 8; hops++)
        {
            if (schema is JsonObject { } obj && obj["$ref"] is JsonValue reference)
                schema = _defs[((string)reference!).Split("#/$defs/")[^1]]!;
            else if (schema is JsonObject { } wrapped && wrapped["anyOf"] is JsonArray { Count: 2 } either && either.Any(IsNullType))
                schema = either.First(branch => !IsNullType(branch))!;
            else
                break;
        }

        return (JsonObject)schema;
    }

    private static bool IsNullType(JsonNode? schema) => schema is JsonObject { Count: 1 } only && only["type"] is JsonValue t && (string?)t == "null";

    /// <summary>Whether null is allowed: a type array with "null" (SpecSchemas' nullable), here or where it refers.</summary>
    private bool IsNullable(JsonNode schema)
    {
        for (var hops = 0; hops < 8; hops++)
        {
            if (schema is not JsonObject obj)
                return false;
            if (obj["type"] is JsonArray types && types.Any(t => (string?)t == "null"))
                return true;
            if (obj["anyOf"] is JsonArray branches && branches.Any(IsNullType))
                return true;
            if (obj["$ref"] is not JsonValue reference)
                return false;
            schema = _defs[((string)reference!).Split("#/$defs/")[^1]]!;
        }

        return false;
    }

    private static long? Number(JsonObject schema, string keyword) => schema[keyword] is JsonValue value ? value.GetValue<long>() : null;

    private static string? Type(JsonObject schema) => schema["type"] switch
    {
        JsonValue one => (string?)one,
        JsonArray many => many.Select(t => (string?)t).FirstOrDefault(t => t != "null"),
        _ => null,
    };

    private Limit LimitOf(string key, JsonObject schema)
    {
        var name = key.Split('.')[^1];
        var items = schema["items"] is { } itemSchema ? Resolve(itemSchema) : null;
        var type = Type(schema) switch
        {
            "string" when schema["enum"] is null && schema["format"] is null => FieldType.String,
            "integer" => FieldType.Integer,
            "array" => FieldType.Array,
            null => FieldType.None,
            _ => FieldType.Other,
        };
        var minLength = (int)(Number(schema, "minLength") ?? 0);
        var maxLength = (int)(Number(type == FieldType.Array ? items! : schema, "maxLength") ?? int.MaxValue);
        var maxItems = (int)(Number(schema, "maxItems") ?? int.MaxValue);
        var minimum = Number(schema, "minimum") ?? long.MinValue;
        var maximum = Number(schema, "maximum") ?? long.MaxValue;
        var message = type switch
        {
            FieldType.String when minLength > 0 => $"'{name}' must be {minLength} to {maxLength} characters.",
            FieldType.String => $"'{name}' must be at most {maxLength} characters.",
            FieldType.Integer when maximum == long.MaxValue => $"'{name}' must be an integer, {minimum} or more.",
            FieldType.Integer => $"'{name}' must be an integer from {minimum} to {maximum}.",
            FieldType.Array => $"'{name}' holds at most {maxItems} items of at most {maxLength} characters.",
            _ => $"'{name}' does not match the contract.",
        };
        return new Limit(type, minLength, maxLength, maxItems, minimum, maximum, (string?)schema["pattern"], items is null ? null : (string?)items["pattern"],
            schema["enum"] is JsonArray values ? values.Select(v => (string)v!).ToArray() : items?["enum"] is JsonArray itemValues ? itemValues.Select(v => (string)v!).ToArray() : null,
            message);
    }
}

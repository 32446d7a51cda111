using System.Collections.Frozen;
using System.Text.Json.Nodes;

namespace Platform.Api.Http;

/// <summary>
/// The size limits of one converted schema — an array's <c>maxItems</c>, an object's <c>maxProperties</c>, the fields
/// of an object that allows no others — derived once (<see cref="Deriving"/>) and checked in one pass over a value
/// (<see cref="Check"/>). JsonSchema.Net spends microseconds on each value it evaluates, and a body far larger than
/// its schema allows (3,000 rules where 1,000 may be sent, 100,000 unknown keys) would cost a second of CPU before it
/// is refused; this pass refuses it at the cost of reading it, so what evaluation is left to do is bounded by the
/// schema's own limits. Limits are followed along <c>properties</c>, <c>items</c>, <c>additionalProperties</c>,
/// <c>$ref</c>, <c>allOf</c> and the null branch of a nullable <c>anyOf</c>; under any other <c>anyOf</c> or
/// <c>oneOf</c> the branch is not known before evaluation, and evaluation alone decides.
/// </summary>
internal sealed class SpecBounds
{
    private int? maxItems;
    private string? tooManyItems;
    private SpecBounds? items;
    private int? maxProperties;
    private string? tooManyProperties;
    private FrozenDictionary<string, SpecBounds?>? properties;
    private bool closed;
    private SpecBounds? additional;
    private SpecBounds[] all = [];

    /// <summary>What one pass found: the violations listed (at most <paramref name="Limit"/>) and how many in all.</summary>
    internal sealed class Findings(int limit)
    {
        public List<SpecViolation> Listed { get; } = [];

        public int Count { get; private set; }

        /// <summary>Whether a value holds more than its schema lets it (items or entries), beyond unknown fields.</summary>
        public bool Oversized { get; private set; }

        /// <summary>Adds one at <paramref name="pointer"/> (or its child <paramref name="field"/>); past the limit it is only counted.</summary>
        public void Add(string pointer, string? field, string message, bool oversized)
        {
            Count++;
            Oversized |= oversized;
            if (Listed.Count < limit)
                Listed.Add(new SpecViolation(field is null ? pointer : Child(pointer, field), message));
        }
    }

    /// <summary>
    /// Derives the limits of schemas, each node once: <see cref="Of"/> gives a schema's limits, or null when it sets
    /// none a pass can check. <paramref name="resolve"/> finds what a <c>$ref</c> names; <paramref name="sentence"/>
    /// gives a schema's own words for a keyword and bound (its <c>x-messages</c>, else the standard sentence). Schemas
    /// that refer to one node (recursive ones, or many schemas to one shared <c>$defs</c> entry) share its instance.
    /// </summary>
    internal sealed class Deriving(Func<string, JsonNode?> resolve, Func<JsonNode, string, long, string> sentence)
    {
        private readonly Dictionary<JsonNode, SpecBounds?> seen = new(ReferenceEqualityComparer.Instance);

        public SpecBounds? Of(JsonNode? node)
        {
            if (node is not JsonObject schema)
                return null; // true, false: nothing to bound
            if (seen.TryGetValue(schema, out var known))
                return known;
            var bounds = new SpecBounds();
            seen[schema] = bounds; // a schema that refers to itself (a tree) finds itself here while being derived
            var parts = new List<SpecBounds>();
            if (schema["$ref"] is JsonValue reference && Of(resolve(reference.GetValue<string>())) is { } target)
                parts.Add(target);
            foreach (var part in schema["allOf"]?.AsArray() ?? [])
            {
                if (Of(part) is { } one)
                    parts.Add(one);
            }

            if (schema["anyOf"] is JsonArray { Count: 2 } nullable && nullable.Count(SpecSchemas.IsNullBranch) == 1 && Of(nullable.First(b => !SpecSchemas.IsNullBranch(b))) is { } notNull)
                parts.Add(notNull);

            if (schema["maxItems"] is JsonValue itemLimit)
            {
                bounds.maxItems = itemLimit.GetValue<int>();
                bounds.tooManyItems = sentence(schema, "maxItems", bounds.maxItems.Value);
            }

            bounds.items = Of(schema["items"]);
            if (schema["maxProperties"] is JsonValue entryLimit)
            {
                bounds.maxProperties = entryLimit.GetValue<int>();
                bounds.tooManyProperties = sentence(schema, "maxProperties", bounds.maxProperties.Value);
            }

            if (schema["properties"] is JsonObject named)
                bounds.properties = named.ToFrozenDictionary(p => p.Key, p => Of(p.Value), StringComparer.Ordinal);
            // With patternProperties a field not listed may still be allowed: only evaluation knows.
            bounds.closed = schema["additionalProperties"] is JsonValue extra && extra.GetValueKind() == JsonValueKind.False && schema["patternProperties"] is null;
            bounds.additional = Of(schema["additionalProperties"]);
            bounds.all = [.. parts];
            if (bounds.IsEmpty)
                seen[schema] = null;
            return bounds.IsEmpty ? null : bounds;
        }
    }

    private bool IsEmpty =>
        maxItems is null && items is null && maxProperties is null && !closed && additional is null && all.Length == 0
        && (properties is null || properties.Values.All(p => p is null));

    /// <summary>Checks <paramref name="value"/> (at <paramref name="pointer"/>) in one pass, adding what breaks a limit.</summary>
    internal void Check(JsonElement value, string pointer, Findings findings)
    {
        foreach (var part in all)
            part.Check(value, pointer, findings);
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                var length = value.GetArrayLength();
                if (length > maxItems)
                {
                    findings.Add(pointer, null, tooManyItems!, oversized: true);
                    return; // its items are not read: the body is refused for its length
                }

                if (items is null)
                    return;
                var index = 0;
                foreach (var item in value.EnumerateArray())
                    items.Check(item, pointer + "/" + index++.ToString(CultureInfo.InvariantCulture), findings);
                return;
            case JsonValueKind.Object:
                var count = 0;
                foreach (var property in value.EnumerateObject())
                {
                    count++;
                    // A pointer is spelt out only where it is used: 100,000 unknown keys cost no 100,000 strings.
                    SpecBounds? inner = null;
                    if (properties is not null && properties.TryGetValue(property.Name, out var listed))
                        inner = listed;
                    else if (closed)
                        findings.Add(pointer, property.Name, "Is not a field of this object.", oversized: false);
                    else
                        inner = additional;
                    inner?.Check(property.Value, Child(pointer, property.Name), findings);
                }

                if (count > maxProperties)
                    findings.Add(pointer, null, tooManyProperties!, oversized: true);
                return;
        }
    }

    private static string Child(string pointer, string field) => pointer + "/" + SpecSchemas.Escape(field);
}

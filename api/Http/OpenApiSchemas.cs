using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Platform.Api.Http;

/// <summary>
/// OpenAPI 3.0.3 Schema Objects turned into JSON Schema draft 2020-12 for <see cref="SpecSchemas"/>: <c>nullable</c>
/// becomes a type array (or an <c>anyOf</c> with null), boolean <c>exclusiveMinimum</c>/<c>exclusiveMaximum</c> become
/// the bounds themselves, references point into the converted <c>$defs</c>, and OpenAPI-only keywords and
/// <c>x-</c> extensions are dropped (an <c>x-messages</c> map is kept aside, by schema node).
/// </summary>
internal static class OpenApiSchemas
{
    /// <summary>Where the converted <c>components/schemas/{name}</c> lives: the <c>$defs</c> of <see cref="SpecSchemas.DocumentUri"/>.</summary>
    internal static string Reference(string component) => $"{SpecSchemas.DocumentUri}#/$defs/{SpecSchemas.Escape(component)}";

    private const string ComponentPrefix = "#/components/schemas/";

    /// <summary>
    /// One OpenAPI 3.0 Schema Object as a JSON Schema 2020-12 one. Its <c>x-messages</c> go to
    /// <paramref name="messages"/> rather than into the schema, which standard validators then read as it is.
    /// </summary>
    internal static JsonNode Convert(JsonNode schema, Dictionary<JsonNode, FrozenDictionary<string, string>> messages)
    {
        if (schema is not JsonObject source)
            return schema.DeepClone(); // true / false
        var result = new JsonObject();
        foreach (var (keyword, value) in source)
        {
            if (value is null && keyword != "default")
                continue;
            switch (keyword)
            {
                case "nullable" or "discriminator" or "example" or "externalDocs" or "xml":
                case var extension when extension.StartsWith("x-", StringComparison.Ordinal):
                    break;
                case "$ref":
                    var target = value!.GetValue<string>();
                    result[keyword] = target.StartsWith(ComponentPrefix, StringComparison.Ordinal)
                        ? Reference(target[ComponentPrefix.Length..])
                        : throw new InvalidOperationException($"openapi.yaml refers to '{target}' where a schema belongs.");
                    break;
                case "properties" or "patternProperties":
                    var named = new JsonObject();
                    foreach (var (name, property) in value!.AsObject())
                        named[name] = Convert(property!, messages);
                    result[keyword] = named;
                    break;
                case "items" or "additionalProperties" or "not":
                    result[keyword] = Convert(value!, messages);
                    break;
                case "allOf" or "anyOf" or "oneOf":
                    result[keyword] = new JsonArray(value!.AsArray().Select(part => (JsonNode?)Convert(part!, messages)).ToArray());
                    break;
                case "exclusiveMinimum" or "exclusiveMaximum" when value!.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                    // 3.0 says whether minimum/maximum is exclusive; 2020-12 gives the bound itself.
                    if (value.GetValueKind() == JsonValueKind.True && source[keyword == "exclusiveMinimum" ? "minimum" : "maximum"] is { } bound)
                        result[keyword] = bound.DeepClone();
                    break;
                default:
                    result[keyword] = value?.DeepClone();
                    break;
            }
        }

        if (source["x-messages"] is JsonObject sentences)
            messages[result] = sentences.ToFrozenDictionary(m => m.Key, m => m.Value!.GetValue<string>(), StringComparer.Ordinal);

        if (source["exclusiveMinimum"] is JsonValue min && min.GetValueKind() == JsonValueKind.True)
            result.Remove("minimum");
        if (source["exclusiveMaximum"] is JsonValue max && max.GetValueKind() == JsonValueKind.True)
            result.Remove("maximum");

        if (source["nullable"] is not JsonValue nullable || nullable.GetValueKind() != JsonValueKind.True)
            return result;
        if (result["type"] is JsonValue type)
        {
            result["type"] = new JsonArray(type.GetValue<string>(), "null");
            if (result["enum"] is JsonArray values && !values.Any(v => v is null))
                values.Add(null);
            return result;
        }

        return new JsonObject { ["anyOf"] = new JsonArray(result, new JsonObject { ["type"] = "null" }) };
    }
}

using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Json.Pointer;
using Json.Schema;
using Platform.Api.Docs;

namespace Platform.Api.Http;

// How the contract's schemas are read once: openapi.yaml converted, built in one registry, each operation's bodies found.
public static partial class SpecSchemas
{
    private sealed record Operation(
        FrozenDictionary<string, JsonSchema> Requests,
        FrozenDictionary<string, FrozenDictionary<string, JsonSchema>> Responses,
        bool RawBody);

    /// <param name="Messages">The <c>x-messages</c> of a converted schema (keyword to sentence), by the schema node.</param>
    /// <param name="Bounds">The size limits of each built schema that sets any (<see cref="SpecBounds"/>).</param>
    private sealed record Model(
        FrozenDictionary<string, JsonNode> Documents,
        FrozenDictionary<string, JsonSchema> Components,
        FrozenDictionary<string, Operation> Operations,
        IReadOnlyDictionary<JsonNode, FrozenDictionary<string, string>> Messages,
        IReadOnlyDictionary<JsonSchema, SpecBounds> Bounds);

    private static Model Build()
    {
        var spec = JsonNode.Parse(YamlJson.ToJson(Contract.Text))!.AsObject();
        var documents = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var messages = new Dictionary<JsonNode, FrozenDictionary<string, string>>(ReferenceEqualityComparer.Instance);
        var build = new Builder(new BuildOptions { SchemaRegistry = new SchemaRegistry() }, documents, messages);
        JsonNode Convert(JsonNode schema) => OpenApiSchemas.Convert(schema, messages);

        var defs = new JsonObject();
        foreach (var (name, schema) in spec["components"]?["schemas"]?.AsObject() ?? [])
            defs[name] = Convert(schema!);
        var root = new JsonObject { ["$schema"] = Draft, ["$id"] = DocumentUri, ["$defs"] = defs };
        documents[DocumentUri] = root;
        JsonSchema.FromText(root.ToJsonString(), build.Options);

        var components = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var (name, _) in defs)
            components[name] = build.Schema($"{DocumentUri}/components/{Uri.EscapeDataString(name)}", new JsonObject { ["$ref"] = OpenApiSchemas.Reference(name) });

        var operations = new Dictionary<string, Operation>(StringComparer.Ordinal);
        foreach (var (_, pathItem) in spec["paths"]!.AsObject())
        {
            foreach (var (method, node) in pathItem!.AsObject())
            {
                if (node is not JsonObject operation || operation["operationId"] is not JsonValue id)
                    continue;
                var operationId = id.GetValue<string>();
                var at = $"{DocumentUri}/operations/{Uri.EscapeDataString(operationId)}";
                var requests = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
                if (Resolve(spec, operation["requestBody"])?["content"] is JsonObject requestContent)
                {
                    foreach (var (mediaType, media) in requestContent)
                    {
                        if (media?["schema"] is { } schema)
                            requests[mediaType] = build.Schema($"{at}/request/{Uri.EscapeDataString(mediaType)}", Convert(schema));
                    }
                }

                var responses = new Dictionary<string, FrozenDictionary<string, JsonSchema>>(StringComparer.Ordinal);
                foreach (var (status, response) in operation["responses"]?.AsObject() ?? [])
                {
                    var content = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
                    foreach (var (mediaType, media) in Resolve(spec, response)?["content"]?.AsObject() ?? [])
                    {
                        if (media?["schema"] is { } schema)
                            content[mediaType] = build.Schema($"{at}/response/{status}/{Uri.EscapeDataString(mediaType)}", Convert(schema));
                    }

                    responses[status] = content.ToFrozenDictionary(StringComparer.Ordinal);
                }

                var raw = operation["x-platform-raw-body"] is JsonValue flag && flag.GetValueKind() == JsonValueKind.True;
                operations[operationId] = new Operation(requests.ToFrozenDictionary(StringComparer.Ordinal), responses.ToFrozenDictionary(StringComparer.Ordinal), raw);
            }
        }

        return new Model(documents.ToFrozenDictionary(StringComparer.Ordinal), components.ToFrozenDictionary(StringComparer.Ordinal), operations.ToFrozenDictionary(StringComparer.Ordinal), messages, build.Bounds);
    }

    /// <summary>Builds each schema document in one registry, noting the document and the schema's size limits.</summary>
    private sealed class Builder(BuildOptions options, Dictionary<string, JsonNode> documents, Dictionary<JsonNode, FrozenDictionary<string, string>> messages)
    {
        public BuildOptions Options => options;

        public Dictionary<JsonSchema, SpecBounds> Bounds { get; } = new(ReferenceEqualityComparer.Instance);

        // One for every schema built, so the limits of a shared $defs entry are derived once, not once per operation.
        private SpecBounds.Deriving Deriving => field ??= new SpecBounds.Deriving(Target, Sentence);

        public JsonSchema Schema(string id, JsonNode schema)
        {
            var document = schema is JsonObject obj ? obj : new JsonObject { ["allOf"] = new JsonArray(schema) };
            document["$schema"] = Draft;
            document["$id"] = id;
            documents[id] = document;
            var built = JsonSchema.FromText(document.ToJsonString(), options);
            if (Deriving.Of(document) is { } bounds)
                Bounds[built] = bounds;
            return built;
        }

        /// <summary>The converted schema a <c>$ref</c> (an absolute URI into one of the documents) names.</summary>
        private JsonNode? Target(string reference)
        {
            var hash = reference.IndexOf('#', StringComparison.Ordinal);
            return hash > 0 && documents.TryGetValue(reference[..hash], out var document)
                && JsonPointer.TryParse(Uri.UnescapeDataString(reference[(hash + 1)..]), out var pointer) && pointer.TryEvaluate(document, out var node)
                ? node
                : throw new InvalidOperationException($"A converted schema refers to '{reference}', which no document holds.");
        }

        private string Sentence(JsonNode schema, string keyword, long bound) =>
            messages.TryGetValue(schema, out var sentences) && sentences.TryGetValue(keyword, out var sentence)
                ? sentence
                : string.Format(CultureInfo.InvariantCulture, LimitMessages[keyword], bound);
    }


    /// <summary>A <c>$ref</c> to a reusable response or request body (not a schema) followed to what it names.</summary>
    private static JsonNode? Resolve(JsonObject spec, JsonNode? node)
    {
        for (var hops = 0; node is JsonObject { } obj && obj["$ref"] is JsonValue reference && hops < 8; hops++)
        {
            var path = reference.GetValue<string>();
            node = path.StartsWith("#/", StringComparison.Ordinal) && JsonPointer.TryParse(path[1..], out var pointer) && pointer!.TryEvaluate(spec, out var target)
                ? target
                : throw new InvalidOperationException($"openapi.yaml refers to '{path}', which it does not hold.");
        }

        return node;
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using Platform.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Platform.Tests.Hardening;

/// <summary>One parameter of an operation, with its schema ($ref resolved).</summary>
public sealed record FuzzParameter(string In, string Name, bool Required, JsonObject Schema);

/// <summary>An operation's request body: the media types it accepts, its schema and the spec's example of it.</summary>
public sealed record FuzzBody(IReadOnlyList<string> MediaTypes, JsonObject Schema, JsonNode Example);

/// <summary>What the fuzz test needs to know of one operation to make requests to it.</summary>
public sealed record FuzzOperation(string Method, string Path, string OperationId, IReadOnlyList<FuzzParameter> Parameters, FuzzBody? Body)
{
    public IEnumerable<FuzzParameter> In(string where) => Parameters.Where(p => p.In == where);
}

/// <summary>
/// openapi.yaml as JSON (YAML plain scalars typed as YAML 1.2's core schema types them), reduced to what the fuzz
/// test sends: every operation's parameters with their schemas, and its body's schema and example.
/// </summary>
public sealed class FuzzSpec
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];
    private readonly JsonObject _root;

    private FuzzSpec(JsonObject root)
    {
        _root = root;
        Operations = ReadOperations().OrderBy(o => o.OperationId, StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<FuzzOperation> Operations { get; }

    public static FuzzSpec Load()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Repository.Root, "openapi.yaml"))));
        return new FuzzSpec((JsonObject)ToJson(stream.Documents[0].RootNode)!);
    }

    /// <summary>Follows $ref (to this document) until the node is not a reference.</summary>
    public JsonObject Resolve(JsonNode? node)
    {
        var current = node as JsonObject ?? [];
        for (var hops = 0; current["$ref"]?.GetValue<string>() is { } reference && hops < 20; hops++)
        {
            JsonNode? target = _root;
            foreach (var part in reference[2..].Split('/'))
                target = target?[part.Replace("~1", "/").Replace("~0", "~")];
            current = target as JsonObject ?? throw new InvalidOperationException("Unresolved " + reference);
        }

        return current;
    }

    /// <summary>The properties an object schema allows (own, allOf, and the discriminator's subtype for this instance).</summary>
    public Dictionary<string, JsonObject> Properties(JsonNode? schemaNode, JsonObject? instance)
    {
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        Collect(Resolve(schemaNode), instance, result, [], depth: 0);
        return result;
    }

    /// <summary>The required property names of an object schema (allOf and the discriminator's subtype included).</summary>
    public HashSet<string> Required(JsonNode? schemaNode, JsonObject? instance)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        Collect(Resolve(schemaNode), instance, [], result, depth: 0);
        return result;
    }

    private void Collect(JsonObject schema, JsonObject? instance, Dictionary<string, JsonObject> properties, HashSet<string> required, int depth)
    {
        if (depth > 10)
            return;
        if (schema["properties"] is JsonObject own)
        {
            foreach (var (name, value) in own)
                properties.TryAdd(name, Resolve(value));
        }

        if (schema["required"] is JsonArray names)
        {
            foreach (var name in names)
                required.Add(name!.GetValue<string>());
        }

        foreach (var part in schema["allOf"] as JsonArray ?? [])
            Collect(Resolve(part), instance, properties, required, depth + 1);

        if (schema["discriminator"] is JsonObject discriminator && instance is not null
            && instance[discriminator["propertyName"]!.GetValue<string>()] is JsonValue tag && tag.TryGetValue<string>(out var kind)
            && discriminator["mapping"]?[kind] is JsonValue mapped)
            Collect(Resolve(new JsonObject { ["$ref"] = mapped.GetValue<string>() }), instance, properties, required, depth + 1);
    }

    private IEnumerable<FuzzOperation> ReadOperations()
    {
        foreach (var (path, itemNode) in (JsonObject)_root["paths"]!)
        {
            var item = (JsonObject)itemNode!;
            foreach (var method in Methods)
            {
                if (item[method] is not JsonObject operation)
                    continue;
                var parameters = (item["parameters"] as JsonArray ?? []).Concat(operation["parameters"] as JsonArray ?? [])
                    .Select(p => Resolve(p))
                    .Select(p => new FuzzParameter(
                        p["in"]!.GetValue<string>(), p["name"]!.GetValue<string>(), p["required"]?.GetValue<bool>() ?? false, Resolve(p["schema"])))
                    .ToList();
                yield return new FuzzOperation(method.ToUpperInvariant(), path, operation["operationId"]!.GetValue<string>(), parameters, Body(operation["requestBody"]));
            }
        }
    }

    private FuzzBody? Body(JsonNode? requestBody)
    {
        if (requestBody is null)
            return null;
        var content = (JsonObject)Resolve(requestBody)["content"]!;
        var first = (JsonObject)content.First().Value!;
        var example = first["example"] ?? (first["examples"] is JsonObject examples ? Resolve(examples.First().Value)["value"] : null)
            ?? throw new InvalidOperationException("A request body without an example in openapi.yaml; the fuzz test starts from the examples.");
        return new FuzzBody(content.Select(c => c.Key).ToList(), Resolve(first["schema"]), example.DeepClone());
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => Plain(scalar.Value ?? ""),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException("Unexpected YAML node " + node.NodeType),
    };

    private static JsonNode? Plain(string value) => value switch
    {
        "null" or "~" or "" => null,
        "true" => JsonValue.Create(true),
        "false" => JsonValue.Create(false),
        _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer) => JsonValue.Create(integer),
        _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && !value.Contains(':') => JsonValue.Create(number),
        _ => JsonValue.Create(value),
    };
}

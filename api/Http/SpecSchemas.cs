using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Json.Pointer;
using Json.Schema;
using Platform.Api.Docs;

namespace Platform.Api.Http;

/// <summary>One thing the contract forbids in a JSON value: where (an RFC 6901 pointer, "" for the whole value) and why.</summary>
public sealed record SpecViolation(string Pointer, string Message);

/// <summary>
/// openapi.yaml (OpenAPI 3.0.3, <see cref="Contract"/>) as standard JSON Schema (draft 2020-12), turned once and
/// checked with JsonSchema.Net: <c>components/schemas</c> become the <c>$defs</c> of one document
/// (<see cref="DocumentUri"/>) that every <c>$ref</c> points into, each schema converted by <see cref="OpenApiSchemas"/>;
/// <c>format</c> stays an annotation (the binder asserts date-times and integer ranges). Each operation's request
/// and response schemas are built from it, so the server, the tests and anyone else check payloads against the
/// same schemas without restating a limit.
/// </summary>
public static partial class SpecSchemas
{
    public const string DocumentUri = "https://platform.dev/openapi.json";

    private const string Draft = "https://json-schema.org/draft/2020-12/schema";

    private static readonly Lazy<Model> Loaded = new(Build);

    /// <summary>The whole contract's schemas as one JSON Schema document (its <c>$defs</c> are the components).</summary>
    public static JsonObject Document => (JsonObject)Loaded.Value.Documents[DocumentUri].DeepClone();

    /// <summary>Builds everything now (at start-up), so a contract the converter cannot read fails the start, not a request.</summary>
    public static void Load() => _ = Loaded.Value;

    /// <summary>The schema of <c>components/schemas/{name}</c>.</summary>
    public static JsonSchema Component(string name) =>
        Loaded.Value.Components.TryGetValue(name, out var schema) ? schema : throw new ArgumentException($"openapi.yaml has no schema '{name}'.", nameof(name));

    /// <summary>The media types the operation's request body may be sent as (none when it takes no body).</summary>
    public static IReadOnlyCollection<string> RequestMediaTypes(string operationId) =>
        Loaded.Value.Operations.TryGetValue(operationId, out var operation) ? operation.Requests.Keys : [];

    /// <summary>The schema of the operation's request body in that media type, or null when the spec lists none.</summary>
    public static JsonSchema? RequestBody(string operationId, string mediaType) =>
        Loaded.Value.Operations.TryGetValue(operationId, out var operation) && operation.Requests.TryGetValue(mediaType, out var schema) ? schema : null;

    /// <summary>
    /// The schema of the operation's response with that status (its exact code, else <c>4XX</c>-style, else
    /// <c>default</c>) in that media type, or null when the spec lists none.
    /// </summary>
    public static JsonSchema? Response(string operationId, int status, string mediaType)
    {
        if (!Loaded.Value.Operations.TryGetValue(operationId, out var operation))
            return null;
        var code = status.ToString(CultureInfo.InvariantCulture);
        foreach (var key in new[] { code, code[0] + "XX", "default" })
        {
            if (operation.Responses.TryGetValue(key, out var content))
                return content.TryGetValue(mediaType, out var schema) ? schema : null;
        }

        return null;
    }

    /// <summary>The operations whose body the server reads itself, in one pass (<c>x-platform-raw-body</c>).</summary>
    public static bool HasRawBody(string operationId) =>
        Loaded.Value.Operations.TryGetValue(operationId, out var operation) && operation.RawBody;

    /// <summary>How many violations <see cref="Validate"/> lists at the most (the rest are counted in one more).</summary>
    public const int MaxViolations = 100;

    /// <summary>
    /// Where <paramref name="instance"/> breaks <paramref name="schema"/> (none when it conforms), innermost first
    /// as the validator reports them, each at the value that breaks it: a missing required field at its own pointer.
    /// </summary>
    public static IReadOnlyList<SpecViolation> Validate(JsonSchema schema, JsonElement instance) => Validate(schema, instance, out _);

    /// <inheritdoc cref="Validate(JsonSchema, JsonElement)"/>
    /// <param name="partial">
    /// Whether the answer stops short of every violation: the value broke a size limit (and was not evaluated) or more
    /// than <see cref="MaxViolations"/> were found. Such a value is not worth reading any further.
    /// </param>
    public static IReadOnlyList<SpecViolation> Validate(JsonSchema schema, JsonElement instance, out bool partial)
    {
        partial = false;
        // A value larger than its schema's limits is refused on one cheap pass, before evaluation reads all of it.
        if (Loaded.Value.Bounds.TryGetValue(schema, out var bounds))
        {
            var findings = new SpecBounds.Findings(MaxViolations);
            bounds.Check(instance, "", findings);
            if (findings.Oversized || findings.Count > MaxViolations)
            {
                partial = true;
                return Capped(findings.Listed, findings.Count - findings.Listed.Count);
            }
        }

        // The flag output stops at the first failure: the full list is only worked out for a value that fails.
        if (schema.Evaluate(instance, Flag).IsValid)
            return [];
        var results = schema.Evaluate(instance, List);
        var violations = new List<SpecViolation>();
        var unlisted = 0;
        foreach (var detail in results.Details ?? [results])
        {
            if (detail.Errors is not { Count: > 0 } errors)
                continue;
            // Describing one costs a look-up of its value (linear in the size of the object holding it): past the
            // cap the rest are only counted, so a body of 50,000 unknown keys costs what its evaluation costs.
            if (violations.Count >= MaxViolations)
            {
                unlisted += errors.Count;
                continue;
            }

            var at = detail.InstanceLocation.ToString();
            foreach (var (keyword, message) in errors)
            {
                var node = SchemaAt(detail.SchemaLocation, keyword);
                if (IsNullBranch(node))
                    continue; // the null branch of a nullable reference: the other branch says what is wrong
                if (node is not null && Loaded.Value.Messages.TryGetValue(node, out var sentences) && sentences.TryGetValue(keyword, out var sentence))
                {
                    violations.Add(new SpecViolation(at, sentence)); // the schema's own x-messages say it best
                    continue;
                }

                violations.AddRange(Describe(keyword, message, at, node, Value(instance, detail.InstanceLocation)));
            }
        }

        partial = unlisted > 0;
        return violations.Count == 0 ? [new SpecViolation("", "Does not match the contract.")] : Capped(violations, unlisted);
    }

    private static List<SpecViolation> Capped(List<SpecViolation> violations, int unlisted)
    {
        var listed = violations.Distinct().ToList();
        if (unlisted > 0)
            listed.Add(new SpecViolation("", $"And {unlisted} more violations: at most {MaxViolations} are listed."));
        return listed;
    }

    private static readonly EvaluationOptions Flag = new() { OutputFormat = OutputFormat.Flag };

    private static readonly EvaluationOptions List = new() { OutputFormat = OutputFormat.List };

    private static IEnumerable<SpecViolation> Describe(string keyword, string message, string at, JsonNode? schema, JsonElement? value)
    {
        switch (keyword)
        {
            case "required" when Keyword(schema, "required") is JsonArray required && value is { ValueKind: JsonValueKind.Object } obj:
                foreach (var name in required.Select(n => n!.GetValue<string>()).Where(n => !obj.TryGetProperty(n, out _)))
                    yield return new SpecViolation(at + "/" + Escape(name), "Is required.");
                yield break;
            case "":
                // The false schema (additionalProperties: false), reported at the property the object may not have.
                yield return new SpecViolation(at, "Is not a field of this object.");
                yield break;
            case "type" when value is { ValueKind: JsonValueKind.Null }:
                yield return new SpecViolation(at, "Must not be null.");
                yield break;
            case "type" when Keyword(schema, "type") is { } type:
                yield return new SpecViolation(at, "Must be " + string.Join(" or ", TypeNames(type)) + ".");
                yield break;
            case "enum" when Keyword(schema, "enum") is JsonArray values:
                yield return new SpecViolation(at, "Must be one of: " + string.Join(", ", values.Select(v => v is null ? "null" : Text(v))) + ".");
                yield break;
            case var limit when LimitMessages.TryGetValue(limit, out var text) && Keyword(schema, limit) is { } bound:
                yield return new SpecViolation(at, string.Format(CultureInfo.InvariantCulture, text, Text(bound)));
                yield break;
            default:
                yield return new SpecViolation(at, message.EndsWith('.') ? message : message + ".");
                yield break;
        }
    }

    /// <summary>The messages of the keywords whose value is all a client needs to hear (the limit, the pattern).</summary>
    private static readonly FrozenDictionary<string, string> LimitMessages = new Dictionary<string, string>
    {
        ["maxLength"] = "Must be at most {0} characters long.",
        ["minLength"] = "Must be at least {0} characters long.",
        ["pattern"] = "Must match {0}.",
        ["maxItems"] = "Must hold at most {0} items.",
        ["minItems"] = "Must hold at least {0} items.",
        ["maxProperties"] = "Must hold at most {0} entries.",
        ["minimum"] = "Must be at least {0}.",
        ["maximum"] = "Must be at most {0}.",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static string Text(JsonNode value) => value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();

    private static JsonNode? Keyword(JsonNode? schema, string name) => schema is JsonObject obj ? obj[name] : null;

    private static IEnumerable<string> TypeNames(JsonNode type) =>
        (type is JsonArray many ? many.Select(t => t!.GetValue<string>()) : [type.GetValue<string>()])
        .Select(t => t switch { "object" => "an object", "array" => "an array", "integer" => "an integer", "null" => "null", _ => "a " + t });

    internal static bool IsNullBranch(JsonNode? schema) =>
        schema is JsonObject { Count: 1 } only && only["type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String && type.GetValue<string>() == "null";

    private static JsonElement? Value(JsonElement instance, JsonPointer pointer)
    {
        try
        {
            return pointer.Evaluate(instance);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// The schema that reported <paramref name="keyword"/>. JsonSchema.Net 8 ends the location of a schema applied
    /// to a child (items, additionalProperties) with the child's name or its own (<c>…/items/tags</c>): the schema
    /// holding the keyword is then the one above.
    /// </summary>
    private static JsonNode? SchemaAt(Uri location, string keyword)
    {
        var documents = Loaded.Value.Documents;
        if (!documents.TryGetValue(location.GetLeftPart(UriPartial.Query), out var root)
            || !JsonPointer.TryParse(Uri.UnescapeDataString(location.Fragment.TrimStart('#')), out var pointer))
            return null;
        JsonPointer[] candidates = pointer.GetParent(1) is { } parent ? [pointer, parent] : [pointer];
        foreach (var candidate in candidates)
        {
            if (candidate.TryEvaluate(root, out var node)
                && (node is JsonObject schema && (keyword.Length == 0 || schema.ContainsKey(keyword)) || keyword.Length == 0 && node is JsonValue))
                return node;
        }

        return null;
    }

    internal static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}

using YamlDotNet.RepresentationModel;

namespace Platform.Tests.Infrastructure;

/// <summary>What the contract tests compare about one operation.</summary>
public sealed record SpecOperation(
    string Method,
    string Path,
    string OperationId,
    IReadOnlyList<string> Parameters,
    IReadOnlyList<string> StatusCodes,
    string? RequestSchema,
    IReadOnlyList<string> ResponseSchemas,
    IReadOnlyDictionary<string, SpecResponse>? Responses = null)
{
    public string Key => $"{Method} {Path}";
}

/// <summary>One response of an operation: the media types its body may have and the headers it must carry.</summary>
public sealed record SpecResponse(IReadOnlyList<string> MediaTypes, IReadOnlyList<string> RequiredHeaders);

/// <summary>
/// An OpenAPI document (YAML or JSON: JSON is YAML) reduced to its operations: method, path, operationId,
/// parameters (in, name, required), status codes and the schema names of request and responses.
/// </summary>
public sealed class SpecDocument
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    private readonly YamlMappingNode _root;

    private SpecDocument(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        _root = (YamlMappingNode)stream.Documents[0].RootNode;
        Operations = ReadOperations().OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<SpecOperation> Operations { get; }

    /// <summary>operationId to its first tag (the feature it belongs to), in the document's order.</summary>
    public IReadOnlyList<(string OperationId, string Tag)> Tags => ReadTags().ToList();

    public static SpecDocument Parse(string text) => new(text);

    /// <summary>The repository's openapi.yaml.</summary>
    public static SpecDocument Load() => Parse(File.ReadAllText(Path.Combine(Repository.Root, "openapi.yaml")));

    private IEnumerable<SpecOperation> ReadOperations()
    {
        foreach (var (pathNode, pathItemNode) in Mapping(_root, "paths")!.Children)
        {
            var path = Scalar(pathNode)!;
            var pathItem = (YamlMappingNode)pathItemNode;
            var shared = Parameters(pathItem).ToList();
            foreach (var method in Methods)
            {
                if (Mapping(pathItem, method) is not { } operation)
                    continue;
                var responses = Mapping(operation, "responses")!;
                yield return new SpecOperation(
                    method.ToUpperInvariant(),
                    path,
                    Scalar(operation, "operationId") ?? "(none)",
                    shared.Concat(Parameters(operation)).Order(StringComparer.Ordinal).ToList(),
                    responses.Children.Keys.Select(k => Scalar(k)!).Order(StringComparer.Ordinal).ToList(),
                    BodySchema(Mapping(operation, "requestBody")),
                    responses.Children
                        .Select(r => $"{Scalar(r.Key)}:{BodySchema(Resolve((YamlMappingNode)r.Value)) ?? "-"}")
                        .Order(StringComparer.Ordinal).ToList(),
                    responses.Children.ToDictionary(r => Scalar(r.Key)!, r => Response(Resolve((YamlMappingNode)r.Value)), StringComparer.Ordinal));
            }
        }
    }

    private IEnumerable<(string, string)> ReadTags()
    {
        foreach (var (_, pathItemNode) in Mapping(_root, "paths")!.Children)
        {
            foreach (var method in Methods)
            {
                if (Mapping((YamlMappingNode)pathItemNode, method) is not { } operation)
                    continue;
                var tag = operation.Children.TryGetValue("tags", out var tags) ? Scalar(((YamlSequenceNode)tags).Children[0]) : null;
                yield return (Scalar(operation, "operationId") ?? "(none)", tag ?? "(none)");
            }
        }
    }

    private IEnumerable<string> Parameters(YamlMappingNode owner)
    {
        if (!owner.Children.TryGetValue("parameters", out var list))
            yield break;
        foreach (var item in ((YamlSequenceNode)list).Children)
        {
            var parameter = Resolve((YamlMappingNode)item);
            var required = Scalar(parameter, "required") == "true" ? "required" : "optional";
            yield return $"{Scalar(parameter, "in")}:{Scalar(parameter, "name")}:{required}";
        }
    }

    private SpecResponse Response(YamlMappingNode response) => new(
        Mapping(response, "content") is { } content ? content.Children.Keys.Select(k => Scalar(k)!).ToList() : [],
        Mapping(response, "headers") is { } headers
            ? headers.Children.Where(h => Scalar(Resolve((YamlMappingNode)h.Value), "required") == "true").Select(h => Scalar(h.Key)!).ToList()
            : []);

    /// <summary>The schema name ($ref) of the first content type, "inline" for an inline schema, null for no body.</summary>
    private string? BodySchema(YamlMappingNode? owner)
    {
        if (owner is null)
            return null;
        owner = Resolve(owner);
        if (Mapping(owner, "content") is not { } content || content.Children.Count == 0)
            return null;
        var media = (YamlMappingNode)content.Children.First().Value;
        if (Mapping(media, "schema") is not { } schema)
            return null;
        return Scalar(schema, "$ref") is { } reference ? reference[(reference.LastIndexOf('/') + 1)..] : "inline";
    }

    private YamlMappingNode Resolve(YamlMappingNode node)
    {
        if (Scalar(node, "$ref") is not { } reference || !reference.StartsWith("#/", StringComparison.Ordinal))
            return node;
        YamlNode current = _root;
        foreach (var part in reference[2..].Split('/'))
            current = ((YamlMappingNode)current)[part];
        return (YamlMappingNode)current;
    }

    private static YamlMappingNode? Mapping(YamlMappingNode owner, string key) =>
        owner.Children.TryGetValue(key, out var value) ? value as YamlMappingNode : null;

    private static string? Scalar(YamlMappingNode owner, string key) =>
        owner.Children.TryGetValue(key, out var value) ? Scalar(value) : null;

    private static string? Scalar(YamlNode node) => (node as YamlScalarNode)?.Value;
}

public static class Repository
{
    /// <summary>The checkout the tests were built from (the folder with Platform.sln).</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}

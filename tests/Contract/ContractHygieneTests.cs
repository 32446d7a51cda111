using Platform.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Platform.Tests.Contract;

/// <summary>House rules for openapi.yaml that the linters do not check.</summary>
public sealed class ContractHygieneTests
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    private static readonly YamlMappingNode Root = Load();

    [Fact]
    public void Every_operation_has_an_operation_id_a_summary_and_examples()
    {
        var problems = new List<string>();
        foreach (var (path, item) in Map(Root["paths"]))
        {
            foreach (var method in Methods)
            {
                if (!Map(item).TryGetValue(method, out var operationNode))
                    continue;
                var operation = (YamlMappingNode)operationNode;
                var name = $"{method.ToUpperInvariant()} {path}";
                if (!operation.Children.ContainsKey("operationId"))
                    problems.Add($"{name}: no operationId");
                if (!operation.Children.ContainsKey("summary"))
                    problems.Add($"{name}: no summary");
                if (operation.Children.TryGetValue("requestBody", out var body) && !HasExamples(Resolve(body)))
                    problems.Add($"{name}: request body without example");
                foreach (var (status, response) in Map(operation["responses"]))
                {
                    var resolved = Resolve(response);
                    if (resolved.Children.ContainsKey("content") && !HasExamples(resolved))
                        problems.Add($"{name} {status}: response without example");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Objects_refuse_unknown_properties_and_maps_are_bounded()
    {
        // Free-form on purpose: an audit snapshot is whatever the target looked like.
        var freeForm = new HashSet<string> { "components.schemas.AuditSnapshot" };
        var problems = new List<string>();
        Walk(Root["components"], "components", (path, node) =>
        {
            if (!node.Children.TryGetValue("type", out var type) || type.ToString() != "object")
                return;
            // A base of subtypes cannot close itself (its subtypes add properties); each subtype does, listing the
            // base's properties too (TelemetryEvent is a oneOf of its subtypes, TelemetryEventBase their base).
            if (node.Children.ContainsKey("discriminator") || IsBaseOfOneOf(path))
                return;
            if (!node.Children.TryGetValue("additionalProperties", out var additional))
                problems.Add($"{path}: additionalProperties is not set");
            else if (additional is YamlScalarNode { Value: "true" } && !freeForm.Contains(path))
                problems.Add($"{path}: additionalProperties is true");
            else if (additional is YamlMappingNode && !node.Children.ContainsKey("maxProperties"))
                problems.Add($"{path}: a map without maxProperties");
        });

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static bool IsBaseOfOneOf(string path) =>
        path.StartsWith("components.schemas.", StringComparison.Ordinal) && path.EndsWith("Base", StringComparison.Ordinal)
        && Map(Map(Root["components"])["schemas"]).TryGetValue(path["components.schemas.".Length..^"Base".Length], out var polymorphic)
        && Map(polymorphic).ContainsKey("oneOf") && Map(polymorphic).ContainsKey("discriminator");

    private static bool HasExamples(YamlMappingNode owner) =>
        Map(owner["content"]).All(media => Map(media.Value).ContainsKey("example") || Map(media.Value).ContainsKey("examples"));

    private static void Walk(YamlNode node, string path, Action<string, YamlMappingNode> visit)
    {
        if (node is YamlMappingNode mapping)
        {
            visit(path, mapping);
            foreach (var (key, child) in mapping.Children)
                Walk(child, $"{path}.{key}", visit);
        }
        else if (node is YamlSequenceNode sequence)
        {
            var i = 0;
            foreach (var child in sequence.Children)
                Walk(child, $"{path}[{i++}]", visit);
        }
    }

    private static YamlMappingNode Resolve(YamlNode node)
    {
        var mapping = (YamlMappingNode)node;
        if (!mapping.Children.TryGetValue("$ref", out var reference))
            return mapping;
        YamlNode current = Root;
        foreach (var part in reference.ToString()[2..].Split('/'))
            current = current[part];
        return (YamlMappingNode)current;
    }

    private static IDictionary<string, YamlNode> Map(YamlNode node) =>
        ((YamlMappingNode)node).Children.ToDictionary(c => c.Key.ToString(), c => c.Value);

    private static YamlMappingNode Load()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Repository.Root, "openapi.yaml"))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}

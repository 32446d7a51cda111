using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace Platform.Api.Docs;

/// <summary>openapi.yaml as compiled into the api: served verbatim, and read for what the generated code cannot carry.</summary>
public static class Contract
{
    private static readonly Lazy<string> Document = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("openapi.yaml")
            ?? throw new InvalidOperationException("openapi.yaml is not embedded in the api assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<YamlMappingNode> Root = new(() =>
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Text));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    });

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlySet<string>>> Required = new(ReadRequiredProperties);

    private static readonly Lazy<IReadOnlySet<string>> Yaml = new(ReadOperationsAcceptingYaml);

    public static string Text => Document.Value;

    /// <summary>Schema name to the names of its required properties.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> RequiredProperties => Required.Value;

    /// <summary>The operationIds whose request body may be sent as application/yaml.</summary>
    public static IReadOnlySet<string> OperationsAcceptingYaml => Yaml.Value;

    private static IReadOnlySet<string> ReadOperationsAcceptingYaml()
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, pathItem) in (YamlMappingNode)Root.Value["paths"])
        {
            foreach (var (_, node) in (YamlMappingNode)pathItem)
            {
                if (node is YamlMappingNode operation
                    && operation.Children.TryGetValue("requestBody", out var body)
                    && body is YamlMappingNode bodyMapping
                    && bodyMapping.Children.TryGetValue("content", out var content)
                    && ((YamlMappingNode)content).Children.ContainsKey("application/yaml"))
                    result.Add(operation["operationId"].ToString());
            }
        }

        return result;
    }

    private static IReadOnlyDictionary<string, IReadOnlySet<string>> ReadRequiredProperties()
    {
        var schemas = (YamlMappingNode)((YamlMappingNode)Root.Value["components"])["schemas"];
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var (name, schema) in schemas.Children)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            AddRequired(schema, names);
            if (names.Count > 0)
                result[((YamlScalarNode)name).Value!] = names;
        }

        return result;

        // A subtype (allOf) requires what each of its parts requires, its base schema's included.
        void AddRequired(YamlNode schema, HashSet<string> names)
        {
            if (schema is not YamlMappingNode mapping)
                return;
            if (mapping.Children.TryGetValue("$ref", out var reference))
                AddRequired(schemas[((YamlScalarNode)reference).Value!.Split('/')[^1]], names);
            if (mapping.Children.TryGetValue("required", out var list) && list is YamlSequenceNode required)
                names.UnionWith(required.Children.Select(n => ((YamlScalarNode)n).Value!));
            if (mapping.Children.TryGetValue("allOf", out var parts) && parts is YamlSequenceNode all)
            {
                foreach (var part in all.Children)
                    AddRequired(part, names);
            }
        }
    }
}

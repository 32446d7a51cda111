using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace Platform.Api.Docs;

/// <summary>openapi.yaml as compiled into the api: served verbatim, and read for what the generated code cannot carry.</summary>
public static class Contract
{
    private static readonly Lazy<string> Yaml = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("openapi.yaml")
            ?? throw new InvalidOperationException("openapi.yaml is not embedded in the api assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlySet<string>>> Required = new(ReadRequiredProperties);

    public static string Text => Yaml.Value;

    /// <summary>Schema name to the names of its required properties.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> RequiredProperties => Required.Value;

    private static IReadOnlyDictionary<string, IReadOnlySet<string>> ReadRequiredProperties()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(Text));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var schemas = (YamlMappingNode)((YamlMappingNode)root["components"])["schemas"];
        var result = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var (name, schema) in schemas.Children)
        {
            if (schema is YamlMappingNode mapping && mapping.Children.TryGetValue("required", out var list) && list is YamlSequenceNode names)
                result[((YamlScalarNode)name).Value!] = names.Children.Select(n => ((YamlScalarNode)n).Value!).ToHashSet(StringComparer.Ordinal);
        }

        return result;
    }
}

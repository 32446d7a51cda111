using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Platform.Api.Http;

/// <summary>
/// YAML as people write it (FIM rule sets kept in git) turned into the JSON the contract describes. Scalars follow
/// the YAML 1.2 core schema; quoted ones stay strings. The api reads YAML bodies with it and platformctl (cli/,
/// which compiles this file too) reads rules files with it, so that a file means the same to both.
/// Malformed YAML throws <see cref="FormatException"/> saying where.
/// </summary>
internal static partial class YamlJson
{
    public static byte[] ToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"The YAML is invalid at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}");
        }

        if (stream.Documents.Count != 1)
            throw new FormatException("The YAML must hold exactly one document.");
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            Write(writer, stream.Documents[0].RootNode);
        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in mapping.Children)
                {
                    writer.WritePropertyName(((YamlScalarNode)key).Value ?? "");
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                    Write(writer, item);
                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(writer, scalar);
                break;
            default:
                throw new FormatException($"The YAML uses a construct JSON cannot hold at line {node.Start.Line}.");
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
            writer.WriteStringValue(text);
        else if (text is "" or "~" or "null" or "Null" or "NULL")
            writer.WriteNullValue();
        else if (text is "true" or "True" or "TRUE")
            writer.WriteBooleanValue(true);
        else if (text is "false" or "False" or "FALSE")
            writer.WriteBooleanValue(false);
        else if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
            writer.WriteNumberValue(integer);
        else if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            writer.WriteNumberValue(number);
        else
            writer.WriteStringValue(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}

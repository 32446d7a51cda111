// Also compiled into platformctl (cli/Platform.Cli.csproj), whose global usings differ: this file names its own.
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Platform.Api.Http;

/// <summary>
/// YAML as people write it (FIM rule sets kept in git) turned into the JSON the contract describes. Scalars follow
/// the YAML 1.2 core schema; quoted ones stay strings. The api reads YAML bodies with it and platformctl (cli/,
/// which compiles this file too) reads rules files with it, so that a file means the same to both.
/// The document is read as a stream of parser events and written out as it is read, never built as a tree: anchors
/// and aliases are refused before anything is expanded (an alias bomb of a few hundred bytes would otherwise expand
/// to gigabytes), nesting deeper than <see cref="MaxDepth"/> is refused (it would otherwise only be bounded by the
/// stack), keys must be scalars and appear once, and the JSON written may not exceed the caller's limit.
/// Malformed or refused YAML throws <see cref="FormatException"/> saying where, in YAML terms (line and column);
/// JSON larger than the limit throws <see cref="YamlTooLargeException"/>.
/// </summary>
internal static partial class YamlJson
{
    /// <summary>The deepest nesting of mappings and sequences accepted (documented in openapi.yaml).</summary>
    public const int MaxDepth = 64;

    public static byte[] ToJson(string yaml, long maxJsonBytes = long.MaxValue)
    {
        var parser = new Parser(new StringReader(yaml));
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { MaxDepth = MaxDepth + 1 }))
        {
            try
            {
                Convert(parser, writer, buffer, maxJsonBytes);
            }
            catch (YamlException ex)
            {
                throw Invalid(ex.Start, ex.Message);
            }
        }

        if (buffer.Length > maxJsonBytes)
            throw new YamlTooLargeException(maxJsonBytes);
        return buffer.ToArray();
    }

    private static void Convert(IParser parser, Utf8JsonWriter writer, MemoryStream buffer, long maxJsonBytes)
    {
        parser.Consume<StreamStart>();
        if (parser.Accept<StreamEnd>(out _))
            throw new FormatException("The YAML must hold exactly one document; it holds none.");
        parser.Consume<DocumentStart>();

        // One frame per open mapping or sequence: for a mapping, the keys seen so far and whether a key comes next.
        var open = new Stack<Frame>();
        do
        {
            var current = parser.Current ?? throw new FormatException("The YAML ends unexpectedly.");
            parser.MoveNext();
            var top = open.Count > 0 ? open.Peek() : null;
            var isKey = top is { Keys: not null, ExpectKey: true };
            if (top?.Keys is not null && current is not MappingEnd)
                top.ExpectKey = !top.ExpectKey;

            switch (current)
            {
                case AnchorAlias alias:
                    throw Invalid(alias.Start, $"aliases (*{alias.Value}) are not accepted; write the value out.");
                case NodeEvent { Anchor.IsEmpty: false } anchored:
                    throw Invalid(anchored.Start, $"anchors (&{anchored.Anchor}) are not accepted; write the value out.");
                case NodeEvent node when isKey && node is not Scalar:
                    throw Invalid(node.Start, "a mapping key must be a scalar (a string), not a mapping or sequence.");
                case Scalar key when isKey:
                    if (!top!.Keys!.Add(key.Value))
                        throw Invalid(key.Start, $"the key '{key.Value}' appears twice in the same mapping.");
                    writer.WritePropertyName(key.Value);
                    break;
                case Scalar scalar:
                    WriteScalar(writer, scalar);
                    break;
                case MappingStart or SequenceStart when open.Count >= MaxDepth:
                    throw Invalid(current.Start, $"mappings and sequences may be nested at most {MaxDepth} deep.");
                case MappingStart:
                    writer.WriteStartObject();
                    open.Push(new Frame(new HashSet<string>(StringComparer.Ordinal)));
                    break;
                case SequenceStart:
                    writer.WriteStartArray();
                    open.Push(new Frame(null));
                    break;
                case MappingEnd:
                    writer.WriteEndObject();
                    open.Pop();
                    break;
                case SequenceEnd:
                    writer.WriteEndArray();
                    open.Pop();
                    break;
                default:
                    throw Invalid(current.Start, "the YAML uses a construct JSON cannot hold.");
            }

            // Checked as it grows, so that a document that would be too large is never written out whole.
            if (writer.BytesPending + buffer.Length > maxJsonBytes)
                throw new YamlTooLargeException(maxJsonBytes);
            if (writer.BytesPending > 16 * 1024)
                writer.Flush();
        }
        while (open.Count > 0);

        parser.Consume<DocumentEnd>();
        if (!parser.Accept<StreamEnd>(out _))
            throw Invalid(parser.Current?.Start ?? Mark.Empty, "the YAML must hold exactly one document.");
    }

    private sealed class Frame(HashSet<string>? keys)
    {
        /// <summary>The keys of a mapping; null for a sequence.</summary>
        public HashSet<string>? Keys { get; } = keys;

        public bool ExpectKey { get; set; } = true;
    }

    private static FormatException Invalid(Mark at, string what) =>
        new($"The YAML is invalid at line {at.Line}, column {at.Column}: {what}");

    private static void WriteScalar(Utf8JsonWriter writer, Scalar scalar)
    {
        var text = scalar.Value;
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
        else if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            writer.WriteNumberValue(number);
        else
            writer.WriteStringValue(text);
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}

/// <summary>The JSON a YAML document turns into would exceed the body limit.</summary>
internal sealed class YamlTooLargeException(long maxBytes)
    : Exception($"The YAML body, converted to JSON, may be at most {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}

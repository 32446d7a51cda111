using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Metadata;
using Platform.Api.Docs;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Platform.Api.Http;

/// <summary>
/// Operations whose request body openapi.yaml also accepts as <c>application/yaml</c> (rule sets written
/// by people, kept in git) get the YAML turned into JSON before binding, so one validator and one
/// handler serve both. Scalars follow the YAML 1.2 core schema; quoted ones stay strings.
/// </summary>
public static partial class YamlBodies
{
    private static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml"];

    /// <summary>
    /// Declares YAML on the endpoints whose operation accepts it, so that routing (which matches request
    /// content types against this metadata) lets YAML through to <see cref="UseYamlBodies"/>.
    /// </summary>
    public static RouteGroupBuilder AcceptYamlBodies(this RouteGroupBuilder group)
    {
        var operations = Contract.OperationsAcceptingYaml;
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            var name = endpoint.Metadata.OfType<IEndpointNameMetadata>().LastOrDefault()?.EndpointName;
            if (name is null || !operations.Contains(name) || endpoint.Metadata.OfType<IAcceptsMetadata>().LastOrDefault() is not { } json)
                return;
            endpoint.Metadata.Add(new YamlOrJson(json.RequestType, json.IsOptional));
        });
        return group;
    }

    private sealed record YamlOrJson(Type? RequestType, bool IsOptional) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes { get; } = ["application/json", .. YamlTypes];
    }

    public static IApplicationBuilder UseYamlBodies(this IApplicationBuilder app)
    {
        var operations = Contract.OperationsAcceptingYaml;
        return app.Use(async (http, next) =>
        {
            var mediaType = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
            if (mediaType is not null && YamlTypes.Contains(mediaType)
                && http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } operationId
                && operations.Contains(operationId))
            {
                using var reader = new StreamReader(http.Request.Body);
                var json = ToJson(await reader.ReadToEndAsync(http.RequestAborted));
                http.Request.Body = new MemoryStream(json);
                http.Request.ContentType = "application/json";
                http.Request.ContentLength = json.Length;
            }

            await next(http);
        });
    }

    public static byte[] ToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new BadHttpRequestException($"The YAML body is invalid at line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}");
        }

        if (stream.Documents.Count != 1)
            throw new BadHttpRequestException("The YAML body must hold exactly one document.");
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
                throw new BadHttpRequestException($"The YAML body uses a construct JSON cannot hold at line {node.Start.Line}.");
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

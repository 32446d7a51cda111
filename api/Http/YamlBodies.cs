using Microsoft.AspNetCore.Http.Metadata;
using Platform.Api.Docs;

namespace Platform.Api.Http;

/// <summary>
/// Operations whose request body openapi.yaml also accepts as <c>application/yaml</c> (rule sets written
/// by people, kept in git) get the YAML turned into JSON before binding, so one validator and one
/// handler serve both (<see cref="YamlJson"/>).
/// </summary>
public static class YamlBodies
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

    private static byte[] ToJson(string yaml)
    {
        try
        {
            return YamlJson.ToJson(yaml);
        }
        catch (FormatException ex)
        {
            throw new BadHttpRequestException(ex.Message);
        }
    }
}

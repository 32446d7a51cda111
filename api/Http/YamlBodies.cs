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
    /// <summary>The YAML media types this converter reads; an operation takes those of them that openapi.yaml lists for it.</summary>
    private static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml"];

    /// <summary>
    /// Declares the media types openapi.yaml lists on the endpoints whose operation accepts YAML, so that routing
    /// (which matches request content types against this metadata) lets exactly those through to
    /// <see cref="UseYamlBodies"/> and answers any other with 415.
    /// </summary>
    public static RouteGroupBuilder AcceptYamlBodies(this RouteGroupBuilder group)
    {
        var operations = Contract.OperationsAcceptingYaml;
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            var name = endpoint.Metadata.OfType<IEndpointNameMetadata>().LastOrDefault()?.EndpointName;
            if (name is null || !operations.Contains(name) || endpoint.Metadata.OfType<IAcceptsMetadata>().LastOrDefault() is not { } json)
                return;
            endpoint.Metadata.Add(new YamlOrJson(json.RequestType, json.IsOptional, [.. SpecSchemas.RequestMediaTypes(name)]));
        });
        return group;
    }

    private sealed record YamlOrJson(Type? RequestType, bool IsOptional, IReadOnlyList<string> ContentTypes) : IAcceptsMetadata;

    public static IApplicationBuilder UseYamlBodies(this IApplicationBuilder app)
    {
        var operations = Contract.OperationsAcceptingYaml;
        var limit = app.ApplicationServices.GetRequiredService<IConfiguration>().GetSection(RequestLimits.Section).Get<RequestLimits>()?.MaxRequestBodyBytes
            ?? new RequestLimits().MaxRequestBodyBytes;
        return app.Use(async (http, next) =>
        {
            var mediaType = http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
            if (mediaType is not null && YamlTypes.Contains(mediaType)
                && http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is { } operationId
                && operations.Contains(operationId))
            {
                var json = ToJson(await ReadText(http, limit), limit);
                http.Items[SpecRequestBodies.SentMediaType] = mediaType;
                BoundedBody.Replace(http, new MemoryStream(json), json.Length);
                http.Request.ContentType = "application/json";
            }

            await next(http);
        });
    }

    /// <summary>The body as strict UTF-8, held to the body limit.</summary>
    private static async Task<string> ReadText(HttpContext http, long limit)
    {
        using var body = await BoundedBody.ReadAsync(http, limit);

        try
        {
            return StrictUtf8.GetString(body.GetBuffer(), 0, (int)body.Length);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new BadHttpRequestException("The YAML body is not valid UTF-8.");
        }
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static byte[] ToJson(string yaml, long limit)
    {
        try
        {
            return YamlJson.ToJson(yaml, limit);
        }
        catch (FormatException ex)
        {
            throw new BadHttpRequestException(ex.Message);
        }
        catch (YamlTooLargeException ex)
        {
            throw new BadHttpRequestException(ex.Message, StatusCodes.Status413PayloadTooLarge);
        }
    }
}

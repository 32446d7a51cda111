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
                http.Request.Body = new MemoryStream(json);
                http.Request.ContentType = "application/json";
                http.Request.ContentLength = json.Length;
            }

            await next(http);
        });
    }

    /// <summary>The body as strict UTF-8, held to the body limit however it is served (Kestrel enforces it too, test hosts do not).</summary>
    private static async Task<string> ReadText(HttpContext http, long limit)
    {
        using var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (body.Length + read > limit)
                throw new BadHttpRequestException($"Request bodies may be at most {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            body.Write(chunk, 0, read);
        }

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

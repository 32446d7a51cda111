using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;

namespace Platform.Api.Http;

/// <summary>
/// 200 with a JSON document of schema <typeparamref name="T"/> that the handler writes itself, from JSON it has stored,
/// rather than serialising a <typeparamref name="T"/> (parsing and re-serialising hundreds of stored events costs more
/// than the request). The type says which schema the body has, for the generated signatures and the endpoint metadata.
/// </summary>
public sealed class StoredJson<T> : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    private readonly Func<Stream, Task> _write;

    public StoredJson(Func<Stream, Task> write) => _write = write;

    public int StatusCode => StatusCodes.Status200OK;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public string ContentType => "application/json; charset=utf-8";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        httpContext.Response.ContentType = ContentType;
        await _write(httpContext.Response.Body);
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(T), ["application/json"]));
}

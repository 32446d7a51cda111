using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;

namespace Platform.Api.Http;

/// <summary>
/// 304 Not Modified, for a conditional GET whose <c>If-None-Match</c> still holds. A type of its own, where
/// <c>TypedResults.StatusCode(304)</c> would allow any status: the generated handler signatures list exactly the
/// spec's responses, and this one describes itself in the endpoint metadata.
/// </summary>
public sealed class NotModified : IResult, IStatusCodeHttpResult, IEndpointMetadataProvider
{
    public static NotModified Instance { get; } = new();

    private NotModified()
    {
    }

    public int StatusCode => StatusCodes.Status304NotModified;

    int? IStatusCodeHttpResult.StatusCode => StatusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = StatusCode;
        return Task.CompletedTask;
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status304NotModified, typeof(void)));
}

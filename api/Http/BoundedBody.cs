using Microsoft.AspNetCore.Http.Features;

namespace Platform.Api.Http;

/// <summary>
/// A request body read whole by middleware (YAML conversion, the spec check) and handed on: held to the body limit
/// however it is served (Kestrel enforces it too, test hosts do not), and put back so that the binder reads it.
/// </summary>
internal static class BoundedBody
{
    /// <summary>The whole body; beyond <paramref name="limit"/> bytes a 413.</summary>
    public static async Task<MemoryStream> ReadAsync(HttpContext http, long limit)
    {
        var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (body.Length + read > limit)
                throw new BadHttpRequestException($"Request bodies may be at most {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            body.Write(chunk, 0, read);
        }

        body.Position = 0;
        return body;
    }

    /// <summary>
    /// Makes <paramref name="body"/> the request's body. The binder reads the body's pipe, which the framework only
    /// remakes for a new stream when it made the pipe itself: a pipe set by earlier middleware is replaced too.
    /// </summary>
    public static void Replace(HttpContext http, Stream body, long? length)
    {
        http.Request.Body = body;
        http.Request.ContentLength = length;
        http.Features.Set<IRequestBodyPipeFeature>(new BodyPipe(System.IO.Pipelines.PipeReader.Create(body)));
    }

    private sealed class BodyPipe(System.IO.Pipelines.PipeReader reader) : IRequestBodyPipeFeature
    {
        public System.IO.Pipelines.PipeReader Reader { get; } = reader;
    }
}

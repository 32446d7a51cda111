namespace Platform.Api.Http;

/// <summary>
/// Where a streamed list goes on (an export part, an NDJSON page): the cursor of the rest as <c>X-Next-Cursor</c>, and
/// a <c>Link: &lt;...&gt;; rel="next"</c> to the same request with it, known before the first byte is written.
/// </summary>
public static class ContinuationHeaders
{
    public static void Set(HttpContext http, string? next)
    {
        if (next is null)
            return;
        http.Response.Headers["X-Next-Cursor"] = next;
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(http.Request.QueryString.Value);
        query["cursor"] = next;
        http.Response.Headers.Link = $"<{Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(http.Request.Path.Value!, query)}>; rel=\"next\"";
    }
}

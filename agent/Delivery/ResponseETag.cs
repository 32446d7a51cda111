namespace Platform.Agent.Delivery;

/// <summary>
/// The generated client returns bodies, not headers: a caller that needs a response's ETag puts a box in
/// <see cref="Current"/> before the call, and this handler (in every api client) fills it.
/// </summary>
public sealed class ResponseETag : DelegatingHandler
{
    public sealed class Box
    {
        public string? ETag { get; set; }

        /// <summary>The response's <c>Date</c>: the api's clock when it answered (times in the body are on that clock).</summary>
        public DateTimeOffset? Date { get; set; }
    }

    public static AsyncLocal<Box?> Current { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (Current.Value is { } box)
            (box.ETag, box.Date) = (response.Headers.ETag?.ToString() ?? box.ETag, response.Headers.Date);
        return response;
    }
}

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
    }

    public static AsyncLocal<Box?> Current { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (Current.Value is { } box && response.Headers.ETag is { } etag)
            box.ETag = etag.ToString();
        return response;
    }
}

using System.Text;

namespace Platform.Cli;

/// <summary>
/// The API's JSON answers as they came, for <c>-o json</c>: platformctl prints what the API said, byte for byte, not
/// its own serialisation of what it understood (which would reorder properties, escape text differently and drop
/// fields this version of platformctl does not know). Only <c>application/json</c> bodies of successful answers are
/// kept, the last one: downloads and NDJSON exports stream past untouched, and a refusal is reported, not printed.
/// </summary>
public sealed class ApiAnswers
{
    private byte[]? _last;

    /// <summary>The body of the last JSON answer; a command prints only after the call whose answer it shows.</summary>
    public byte[] Last => Volatile.Read(ref _last) ?? throw new InvalidOperationException("The API has given no JSON answer to print.");

    /// <summary>The last answer as text: UTF-8, as the API sends JSON, so writing it out gives back the same bytes.</summary>
    public string LastText => Encoding.UTF8.GetString(Last);

    /// <summary>The raw text of each element of the last answer's <c>items</c> (a page), in order.</summary>
    public IEnumerable<string> LastItems()
    {
        var body = Last;
        using var page = JsonDocument.Parse(body);
        return page.RootElement.GetProperty("items").EnumerateArray().Select(item => item.GetRawText()).ToList();
    }

    /// <summary>A handler for one client's pipeline (a handler serves one pipeline) that records into these answers.</summary>
    public DelegatingHandler Recorder(HttpMessageHandler inner) => new Recording(this) { InnerHandler = inner };

    private sealed class Recording(ApiAnswers answers) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "application/json")
            {
                // Buffered, so the generated client still reads the body after this.
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                Volatile.Write(ref answers._last, await response.Content.ReadAsByteArrayAsync(cancellationToken));
            }

            return response;
        }
    }
}

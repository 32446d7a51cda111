using Platform.Contracts;

namespace Platform.WebConsole.Session;

/// <summary>Every error the console shows is the API's problem detail (RFC 9457), or says plainly that there was none.</summary>
public static class Problems
{
    public static ProblemDetails From(Exception error) => error switch
    {
        PlatformApiException<ProblemDetails> { Result: { } problem } => problem,
        PlatformApiException api => new ProblemDetails { Status = api.StatusCode, Title = $"The API answered {api.StatusCode}.", Detail = api.Message.Split('\n')[0] },
        HttpRequestException http => new ProblemDetails { Title = "The API could not be reached.", Detail = http.Message },
        _ => new ProblemDetails { Title = "Something failed in the console.", Detail = error.Message },
    };

    /// <summary>The problem document of an error response the console fetched itself (not through the generated client).</summary>
    public static async Task<ProblemDetails> FromResponseAsync(HttpResponseMessage response)
    {
        try
        {
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && System.Text.Json.JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), PlatformJsonContext.Default.ProblemDetails) is { } problem)
                return problem;
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return new ProblemDetails { Status = (int)response.StatusCode, Title = $"The API answered {(int)response.StatusCode} {response.ReasonPhrase}." };
    }
}

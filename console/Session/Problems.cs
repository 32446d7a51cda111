using Microsoft.JSInterop;
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

    /// <summary>
    /// The failures a page shows and goes on from: the API refused or could not be reached, or the browser refused (a
    /// download). Anything else is a defect in the console and is left to Blazor's error UI.
    /// </summary>
    public static bool Shown(Exception error) => error is PlatformApiException or HttpRequestException or JSException;

    /// <summary>Runs a page's call: null when it went through, else the problem to show.</summary>
    public static async Task<ProblemDetails?> TryAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception e) when (Shown(e))
        {
            return From(e);
        }
    }

    /// <summary>
    /// An error response the console fetched itself (not through the generated client), thrown as the generated client
    /// throws it, so that it is shown the same way.
    /// </summary>
    public static async Task ThrowIfFailedAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
            return;
        var problem = await FromResponseAsync(response);
        throw new PlatformApiException<ProblemDetails>(problem.Title ?? "", (int)response.StatusCode, null,
            response.Headers.ToDictionary(h => h.Key, h => h.Value), problem, null);
    }

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

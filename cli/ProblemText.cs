using System.Text;

namespace Platform.Cli;

/// <summary>
/// The API's refusal as people read it: status and title, the detail, each invalid field, and the trace id to give
/// whoever runs the server. Answers without problem details (a proxy's HTML page) are shown briefly as they came.
/// </summary>
public static class ProblemText
{
    public static string Describe(PlatformApiException ex)
    {
        var text = new StringBuilder();
        var problem = ex is PlatformApiException<ProblemDetails> typed ? typed.Result : TryParse(ex.Response);
        if (problem is null)
        {
            text.Append("error: HTTP ").Append(ex.StatusCode).Append(": ").AppendLine(FirstLine(ex.Message));
            if (!string.IsNullOrWhiteSpace(ex.Response))
                text.Append("  ").AppendLine(Truncate(ex.Response.Trim(), 500));
            return text.ToString();
        }

        text.Append("error: HTTP ").Append(problem.Status ?? ex.StatusCode).Append(' ').Append(problem.Title ?? "request refused");
        if (problem.Type is { Length: > 0 } type && type != "about:blank")
            text.Append(" (").Append(type).Append(')');
        text.AppendLine();
        if (!string.IsNullOrWhiteSpace(problem.Detail))
            text.Append("  ").AppendLine(problem.Detail);
        foreach (var (field, messages) in problem.Errors ?? new Dictionary<string, IReadOnlyList<string>>())
        {
            foreach (var message in messages)
                text.Append("  ").Append(field).Append(": ").AppendLine(message);
        }

        if (ex.Headers.TryGetValue("Retry-After", out var retry))
            text.Append("  retry after: ").Append(string.Join(", ", retry)).AppendLine(" s");
        if (problem.TraceId is { Length: > 0 } trace)
            text.Append("  trace id: ").AppendLine(trace);
        return text.ToString();
    }

    private static ProblemDetails? TryParse(string? response)
    {
        if (string.IsNullOrWhiteSpace(response) || !response.TrimStart().StartsWith('{'))
            return null;
        try
        {
            var problem = JsonSerializer.Deserialize<ProblemDetails>(response, PlatformClient.SerializerOptions);
            return problem?.Title is null ? null : problem;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "...";
}

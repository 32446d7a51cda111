using Platform.Contracts;

namespace Platform.Tests.Infrastructure;

public static class ProblemAssert
{
    /// <summary>Runs the call, expects the API to refuse it with a problem document of that status, and returns the problem.</summary>
    public static async Task<ProblemDetails> Refused(int status, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<PlatformApiException<ProblemDetails>>(call);
        Assert.Equal(status, exception.StatusCode);
        Assert.Equal(status, exception.Result.Status);
        Assert.StartsWith("https://platform.dev/problems/", exception.Result.Type);
        return exception.Result;
    }

    /// <summary>Expects a 400 validation problem and returns its field errors.</summary>
    public static async Task<IDictionary<string, IReadOnlyList<string>>> FieldErrors(Func<Task> call)
    {
        var problem = await Refused(400, call);
        Assert.Equal("https://platform.dev/problems/validation", problem.Type);
        Assert.NotNull(problem.Errors);
        return problem.Errors;
    }

    /// <summary>Same, for raw HTTP: status, problem+json content type, and the parsed document.</summary>
    public static async Task<System.Text.Json.JsonElement> IsProblem(HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        return problem;
    }
}

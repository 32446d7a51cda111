using System.Diagnostics;

namespace Platform.Api.Http;

/// <summary>
/// Every error is an RFC 9457 problem, in every environment: bad JSON, unknown fields, wrong content type,
/// oversized bodies, unknown routes and unexpected exceptions (without internals outside Development).
/// </summary>
public static partial class ProblemHandling
{
    public static IServiceCollection AddPlatformProblems(this IServiceCollection services)
    {
        // Registered before the framework's writer, which writes only for clients that accept JSON.
        services.AddSingleton<IProblemDetailsWriter, ProblemWriter>();
        services.AddProblemDetails(options => options.CustomizeProblemDetails = Customize);
        // Binding failures throw BadHttpRequestException in every environment, so they carry a detail message.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddExceptionHandler(options =>
        {
            options.StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
            // A client's mistake is not an unhandled error: no error-level entry, no stack trace (logged at debug in Customize).
            options.SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException;
        });
        return services;
    }

    public static IApplicationBuilder UsePlatformProblems(this IApplicationBuilder app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(ProblemForEmptyErrorAsync);
        return app;
    }

    /// <summary>
    /// An error answered with an empty body of another type becomes a problem too: a file result's 416 (a Range
    /// beyond the end of a bundle) is application/zip with no body, which status code pages leave alone.
    /// </summary>
    private static async Task ProblemForEmptyErrorAsync(HttpContext http, RequestDelegate next)
    {
        await next(http);
        var response = http.Response;
        if (response.HasStarted || response.StatusCode < 400 || response.ContentLength is not 0)
            return;
        response.ContentLength = null;
        response.ContentType = null;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = { Status = response.StatusCode } });
    }

    private static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            problem.Type = Problems.TypeFor(status);
        problem.Extensions.Remove("requestId");
        problem.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;

        switch (context.Exception)
        {
            case null when problem.Detail is null:
                // Written by the framework (status code pages): routing and content negotiation failures.
                problem.Title = TitleFor(status);
                problem.Detail = DetailFor(status, context.HttpContext);
                break;
            case null:
                break;
            case InvalidCursorException invalidCursor:
                LogClientError(context.HttpContext, invalidCursor.StatusCode, invalidCursor.Message);
                problem.Type = InvalidCursorException.ProblemType;
                problem.Title = TitleFor(invalidCursor.StatusCode);
                problem.Detail = invalidCursor.Message;
                problem.Extensions["errors"] = new Dictionary<string, string[]> { ["cursor"] = [invalidCursor.Message] };
                break;
            case BadHttpRequestException bad:
                problem.Title = TitleFor(bad.StatusCode);
                problem.Detail = DescribeBadRequest(bad);
                LogClientError(context.HttpContext, bad.StatusCode, problem.Detail);
                if (bad.InnerException is JsonException { Path: { } path } json)
                    problem.Extensions["errors"] = new Dictionary<string, string[]> { [FieldName(path)] = [FieldMessage(json)] };
                else if (MissingParameter(bad) is { } missing)
                    problem.Extensions["errors"] = new Dictionary<string, string[]> { [missing] = [problem.Detail] };
                break;
            default:
                problem.Title = "An unexpected error occurred.";
                // The exception (and its stack trace) goes to the log; the trace id finds it there.
                problem.Detail = context.HttpContext.RequestServices.GetRequiredService<IHostEnvironment>().IsDevelopment()
                    ? context.Exception.ToString()
                    : null;
                break;
        }
    }

    private static void LogClientError(HttpContext http, int status, string detail) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProblemHandling).FullName!)
            .LogDebug("Client error {Status}: {Detail}", status, RequestLogging.Escape(detail));

    /// <summary>"$.rules[0].operations[1]" becomes "rules[0].operations[1]", as validation errors name fields.</summary>
    private static string FieldName(string jsonPath) => jsonPath is "$" ? "body" : jsonPath.TrimStart('$', '.');

    private static string FieldMessage(JsonException json)
    {
        var message = JsonMessage(json);
        var end = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message;
    }

    /// <summary>
    /// The serializer's message in the spec's terms: its own wording names .NET types and members ("could not be mapped
    /// to any .NET member contained in type 'EnvironmentVariable'"), which mean nothing to a client and leak internals.
    /// Messages our converters raise are already in spec terms; the serializer's are matched and reworded, and any
    /// other is reduced to where the error is.
    /// </summary>
    private static string JsonMessage(JsonException json)
    {
        var message = json.Message;
        var at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        var position = at >= 0 ? message[at..] : "";
        var text = at >= 0 ? message[..at] : message;
        var spec = text switch
        {
            _ when text.Contains("could not be mapped to any .NET member", StringComparison.Ordinal)
                => (QuotedProperty().Match(text) is { Success: true } p ? $"'{p.Groups[1].Value}' is not" : "Not") + " a field of this object.",
            _ when text.Contains("missing required properties", StringComparison.Ordinal) && QuotedNames().Match(text) is { Success: true } m
                => "Missing required field(s): " + m.Groups[1].Value + ".",
            _ when text.Contains("Duplicate", StringComparison.OrdinalIgnoreCase) || text.Contains("duplicate", StringComparison.Ordinal) => "The field is given twice.",
            _ when text.Contains("could not be converted to System.DateTimeOffset", StringComparison.Ordinal) => $"Must be an RFC 3339 time between {Rfc3339.RangeText}.",
            _ when text.Contains("could not be converted to System.Int", StringComparison.Ordinal) || text.Contains("could not be converted to System.Double", StringComparison.Ordinal)
                => "Must be a number in range.",
            _ when text.Contains("could not be converted to System.Boolean", StringComparison.Ordinal) => "Must be true or false.",
            _ when text.Contains("could not be converted to System.String", StringComparison.Ordinal) => "Must be a string.",
            _ when text.Contains("could not be converted to", StringComparison.Ordinal) => "Has the wrong type.",
            _ when text.Contains(".NET", StringComparison.Ordinal) || text.Contains("System.", StringComparison.Ordinal) || text.Contains("Platform.", StringComparison.Ordinal)
                || text.Contains(" type '", StringComparison.Ordinal) => "Is not valid here.",
            _ => text,
        };
        return spec + position;
    }

    [System.Text.RegularExpressions.GeneratedRegex("property '(.*?)'")]
    private static partial System.Text.RegularExpressions.Regex QuotedProperty();

    [System.Text.RegularExpressions.GeneratedRegex("including: (.*?)\\.?$")]
    private static partial System.Text.RegularExpressions.Regex QuotedNames();

    private static string TitleFor(int status) => status switch
    {
        StatusCodes.Status404NotFound => "Not found.",
        StatusCodes.Status405MethodNotAllowed => "Method not allowed.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type.",
        StatusCodes.Status416RangeNotSatisfiable => "The range is outside the bundle.",
        _ when status >= 500 => "An unexpected error occurred.",
        _ => "The request is invalid.",
    };

    private static string? DetailFor(int status, HttpContext http) => status switch
    {
        StatusCodes.Status404NotFound => $"No operation at {http.Request.Method} {http.Request.Path}. See /openapi.yaml.",
        StatusCodes.Status405MethodNotAllowed => $"{http.Request.Path} does not accept {http.Request.Method}. See /openapi.yaml.",
        StatusCodes.Status413PayloadTooLarge => $"Request bodies may be at most {http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes.",
        StatusCodes.Status415UnsupportedMediaType => UnsupportedMediaType,
        StatusCodes.Status416RangeNotSatisfiable => $"The bundle's length is in Content-Range ({http.Response.Headers.ContentRange}); ask for a range that starts before it.",
        _ => null,
    };

    private const string UnsupportedMediaType = "Send the body as application/json, or in another media type openapi.yaml lists for the operation (application/yaml for rule sets).";

    private static string DescribeBadRequest(BadHttpRequestException bad)
    {
        if (bad.StatusCode == StatusCodes.Status415UnsupportedMediaType)
            return bad.Message.StartsWith("Content-Encoding", StringComparison.Ordinal) ? bad.Message : UnsupportedMediaType;
        if (MissingParameter(bad) is { } missing)
            return $"Query parameter '{missing}' is required.";
        return bad.InnerException is JsonException json ? "The JSON body is invalid: " + JsonMessage(json) : bad.Message;
    }

    /// <summary>The framework's message for a required query parameter left out names its .NET type
    /// (<c>Required parameter "string agentId" was not provided from query string.</c>): the name alone is the client's.</summary>
    private static readonly System.Text.RegularExpressions.Regex MissingQueryParameter = new(
        "^Required parameter \"[^\"]+ (?<name>[A-Za-z][A-Za-z0-9]*)\" was not provided from query string\\.$",
        System.Text.RegularExpressions.RegexOptions.NonBacktracking | System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private static string? MissingParameter(BadHttpRequestException bad) =>
        bad.InnerException is null && MissingQueryParameter.Match(bad.Message) is { Success: true } match ? match.Groups["name"].Value : null;

    /// <summary>
    /// Writes every problem as application/problem+json, whatever the request accepts. The framework's writer
    /// declines when Accept excludes JSON (a bundle download sends <c>Accept: application/zip</c>), and the problem
    /// was then written without the customisation: no trace id, and no problem+json for a client to recognise.
    /// </summary>
    private sealed class ProblemWriter(Microsoft.Extensions.Options.IOptions<ProblemDetailsOptions> options, Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
    {
        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            options.Value.CustomizeProblemDetails?.Invoke(context);
            var problem = context.ProblemDetails;
            problem.Status ??= context.HttpContext.Response.StatusCode;
            return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(
                problem, problem.GetType(), json.Value.SerializerOptions, "application/problem+json", context.HttpContext.RequestAborted));
        }
    }
}

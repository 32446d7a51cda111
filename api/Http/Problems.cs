
namespace Platform.Api.Http;

/// <summary>
/// The RFC 9457 problems handlers return. Each kind has a stable <c>type</c> URI that clients can switch on. All are a
/// <see cref="ProblemHttpResult"/>, the one result type the generated handler signatures allow for problem+json answers.
/// </summary>
public static class Problems
{
    public const string TypeBase = "https://platform.dev/problems/";

    public static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "not-found", "Not found.", detail);

    public static ProblemHttpResult Forbidden(string detail) => Problem(StatusCodes.Status403Forbidden, "forbidden", "This token may not do that.", detail);

    public static ProblemHttpResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "conflict", "Conflict.", detail);

    public static ProblemHttpResult PreconditionFailed(string detail) =>
        Problem(StatusCodes.Status412PreconditionFailed, "precondition-failed", "The resource has changed.", detail);

    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors, string? detail = null) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status400BadRequest, Type = TypeBase + "validation", Title = "The request is invalid.", Detail = detail });

    /// <summary>A well-formed request that cannot be done as asked (422); <paramref name="errors"/> names each item and why.</summary>
    public static ProblemHttpResult Unprocessable(string detail, IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status422UnprocessableEntity, Type = TypeBase + "unprocessable", Title = "The request cannot be done as asked.", Detail = detail });

    public static ProblemHttpResult Validation(string field, string message) => Validation(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>The <c>type</c> URI for a status code, for problems written by the framework (status code pages, exceptions).</summary>
    public static string TypeFor(int status) => TypeBase + status switch
    {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        412 => "precondition-failed",
        413 => "payload-too-large",
        415 => "unsupported-media-type",
        416 => "range-not-satisfiable",
        422 => "unprocessable",
        429 => "too-many-requests",
        503 => "unavailable",
        _ when status >= 500 => "internal",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static ProblemHttpResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title, type: TypeBase + type);
}

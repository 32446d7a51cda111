using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Platform.Api.Http;

namespace Platform.Tests.Infrastructure;

/// <summary>
/// A validating proxy in the test clients: every exchange the in-process clients make (<see cref="PlatformApi.Http"/>,
/// the generated client over it, platformctl in <c>PlatformCtlRunner</c>) is checked against openapi.yaml, with the
/// operation found by method and path template. The response must have a status the operation declares, a media
/// type that status declares, the headers it declares required and, for JSON, a body that its schema accepts
/// (standard JSON Schema, <see cref="SpecSchemas"/>). The request's body must be of a media type the operation
/// accepts and, for JSON, match its schema, unless the server refused it with a 4xx: tests that send what the spec
/// forbids on purpose (hostile input) expect exactly that refusal, and a refusal is right. A violation fails the
/// exchange, so the test that made it, with a <see cref="SpecViolationException"/> naming the operation, the JSON
/// pointer and what is wrong. Requests to paths that are no operation (/openapi.yaml, /swagger) are not checked.
/// </summary>
public sealed class SpecCheck : DelegatingHandler
{
    private static readonly Lazy<IReadOnlyList<Route>> Routes = new(() => SpecDocument.Load().Operations
        .Select(o => new Route(o.Method, new Regex("^" + Regex.Replace(Regex.Escape(o.Path), @"\\\{[^/]+?\}", "[^/]+") + "$", RegexOptions.CultureInvariant), o.Path.Count(c => c == '{'), o))
        .ToList());

    public SpecCheck()
    {
    }

    public SpecCheck(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>The operation of openapi.yaml that a request is for: the most literal path template that matches (agents/me before agents/{id}).</summary>
    public static SpecOperation? Find(string method, string path) => Routes.Value
        .Where(r => r.Method == method && r.Path.IsMatch(path))
        .OrderBy(r => r.Parameters)
        .Select(r => r.Operation)
        .FirstOrDefault();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var operation = Find(request.Method.Method, request.RequestUri!.AbsolutePath);
        // Buffered here so that it can be read again after it is sent (and after the server has read it).
        var requestBody = operation is not null && request.Content is not null ? await request.Content.ReadAsByteArrayAsync(cancellationToken) : null;
        var response = await base.SendAsync(request, cancellationToken);
        if (operation is null)
            return response;

        if (await ViolationsAsync(operation, request.Method, request.Content, requestBody, response, cancellationToken) is not { Count: > 0 } violations)
            return response;
        response.Dispose();
        throw new SpecViolationException(Describe(operation, request.Method, request.RequestUri.PathAndQuery, (int)response.StatusCode, violations));
    }

    /// <summary>What one exchange does that the operation does not allow (none when it conforms).</summary>
    public static async Task<List<string>> ViolationsAsync(SpecOperation operation, HttpMethod method, HttpContent? requestContent, byte[]? requestBody, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var violations = new List<string>();
        if ((int)response.StatusCode is < 400 or >= 500 && requestBody is { Length: > 0 })
            CheckRequest(operation, requestContent!, requestBody, violations);
        await CheckResponseAsync(operation, method, response, violations, cancellationToken);
        return violations;
    }

    public static string Describe(SpecOperation operation, HttpMethod method, string pathAndQuery, int status, IEnumerable<string> violations) =>
        $"{operation.OperationId} ({method} {pathAndQuery} -> {status}) breaks openapi.yaml:\n  " + string.Join("\n  ", violations);

    private static void CheckRequest(SpecOperation operation, HttpContent content, byte[] body, List<string> violations)
    {
        var mediaType = content.Headers.ContentType?.MediaType ?? "";
        var accepted = SpecSchemas.RequestMediaTypes(operation.OperationId);
        if (accepted.Count == 0)
        {
            violations.Add("request: the operation takes no body, one was sent.");
            return;
        }

        if (!accepted.Contains(mediaType))
        {
            violations.Add($"request: media type '{mediaType}' is not one of {string.Join(", ", accepted)}.");
            return;
        }

        if (IsJson(mediaType) && SpecSchemas.RequestBody(operation.OperationId, mediaType) is { } schema)
            Validate("request", schema, Decoded(body, content.Headers.ContentEncoding), violations);
    }

    private static async Task CheckResponseAsync(SpecOperation operation, HttpMethod method, HttpResponseMessage response, List<string> violations, CancellationToken cancellationToken)
    {
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var declared = new[] { status, status[0] + "XX", "default" }.Select(key => operation.Responses!.GetValueOrDefault(key)).FirstOrDefault(r => r is not null);
        if (declared is null)
        {
            violations.Add($"response: status {status} is not one of {string.Join(", ", operation.Responses!.Keys)}.");
            return;
        }

        foreach (var header in declared.RequiredHeaders.Where(h => !response.Headers.Contains(h) && !response.Content.Headers.Contains(h)))
            violations.Add($"response: header '{header}' is required.");

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (mediaType is null || method == HttpMethod.Head)
        {
            if (declared.MediaTypes.Count > 0 && method != HttpMethod.Head && response.Content.Headers.ContentLength is not 0)
                violations.Add($"response: no media type, one of {string.Join(", ", declared.MediaTypes)} is declared.");
            return;
        }

        if (!declared.MediaTypes.Contains(mediaType))
        {
            violations.Add($"response: media type '{mediaType}' is not one of [{string.Join(", ", declared.MediaTypes)}] for {status}.");
            return;
        }

        // Only JSON is read here: other bodies (files, streams of lines) may be long or never end.
        if (!IsJson(mediaType) || SpecSchemas.Response(operation.OperationId, (int)response.StatusCode, mediaType) is not { } schema)
            return;
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        Validate("response", schema, await response.Content.ReadAsByteArrayAsync(cancellationToken), violations);
    }

    private static void Validate(string what, Json.Schema.JsonSchema schema, byte[] body, List<string> violations)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            violations.Add($"{what}: not JSON ({ex.Message}).");
            return;
        }

        using (document)
        {
            foreach (var violation in SpecSchemas.Validate(schema, document.RootElement))
                violations.Add($"{what} {(violation.Pointer.Length == 0 ? "(the body)" : violation.Pointer)}: {violation.Message}");
        }
    }

    private static byte[] Decoded(byte[] body, ICollection<string> encodings)
    {
        foreach (var encoding in encodings.Reverse())
        {
            using var input = new MemoryStream(body);
            using Stream decoder = encoding switch
            {
                "gzip" => new GZipStream(input, CompressionMode.Decompress),
                "br" => new BrotliStream(input, CompressionMode.Decompress),
                "deflate" => new ZLibStream(input, CompressionMode.Decompress),
                _ => input,
            };
            using var output = new MemoryStream();
            try
            {
                decoder.CopyTo(output);
            }
            catch (InvalidDataException)
            {
                return Encoding.UTF8.GetBytes("\"(a body that does not decompress)\"");
            }

            body = output.ToArray();
        }

        return body;
    }

    private static bool IsJson(string mediaType) => mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal);

    private sealed record Route(string Method, Regex Path, int Parameters, SpecOperation Operation);
}

/// <summary>An exchange that openapi.yaml does not allow (see <see cref="SpecCheck"/>).</summary>
public sealed class SpecViolationException(string message) : Exception(message);

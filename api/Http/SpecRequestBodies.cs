using FluentValidation;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Platform.Api.Http;

/// <summary>
/// Every request body is checked against its operation's schema in openapi.yaml (<see cref="SpecSchemas"/>) before it
/// is bound: a null the spec does not make nullable, a field it does not list, a string longer than its maxLength, a
/// value outside its enum or pattern is a 400 naming each field as validation problems do (<c>rules[0].name</c>),
/// whatever the client. The schema is the one limit: FluentValidation keeps only what a schema cannot say, and a
/// body that breaks the schema is also run through those hand rules, so one 400 names every field at fault (the
/// schema's word standing for a field both fault: hand rules assume a value the schema allows).
/// YAML bodies are checked once <see cref="YamlBodies"/> has made them JSON. The telemetry ingest
/// (<c>x-platform-raw-body</c>) reads its own body in one pass and checks it there (Telemetry/EventBatch.Reading.cs).
/// A body that is not JSON at all is left to the binder, which says where it breaks.
/// </summary>
public static class SpecRequestBodies
{
    /// <summary>Where <see cref="YamlBodies"/> notes the media type the client sent, before it makes the body JSON.</summary>
    internal static readonly object SentMediaType = new();

    private static readonly JsonDocumentOptions Reading = new() { MaxDepth = 64 };

    public static IApplicationBuilder UseSpecRequestBodies(this IApplicationBuilder app)
    {
        SpecSchemas.Load();
        var limit = app.ApplicationServices.GetRequiredService<IConfiguration>().GetSection(RequestLimits.Section).Get<RequestLimits>()?.MaxRequestBodyBytes
            ?? new RequestLimits().MaxRequestBodyBytes;
        return app.Use(async (http, next) =>
        {
            var schema = SchemaFor(http);
            if (schema is null || http.Request.ContentLength == 0)
            {
                await next(http);
                return;
            }

            var body = await BoundedBody.ReadAsync(http, limit);
            if (Violations(schema, body, out var partial) is { Count: > 0 } violations)
            {
                // A body already far off the contract is not read into its type as well (bounded cost, whoever sends it).
                if (!partial)
                    await AddHandRuleViolationsAsync(http, body, violations);
                var detail = "The body does not match openapi.yaml: " + string.Join(" ", violations.Select(v => $"'{v.Key}': {string.Join(" ", v.Value)}"));
                await Problems.Validation(violations, detail).ExecuteAsync(http);
                return;
            }

            BoundedBody.Replace(http, body, body.Length);
            await next(http);
        });
    }

    /// <summary>
    /// Adds what the operation's FluentValidation rules say about the body, for the fields the schema let through.
    /// Only a body that already fails comes here, so the validator is looked up then; a body the binder cannot read
    /// into its type at all is left with the schema's violations.
    /// </summary>
    private static async Task AddHandRuleViolationsAsync(HttpContext http, MemoryStream body, Dictionary<string, string[]> violations)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is not { } type
            || http.RequestServices.GetRequiredService<RequestValidators>().For(type) is not { } validator)
            return;
        object? value;
        try
        {
            var json = http.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            value = JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), type, json);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or FormatException)
        {
            return;
        }

        if (value is null)
            return;
        var result = await validator.ValidateAsync(new ValidationContext<object>(value), http.RequestAborted);
        foreach (var (field, messages) in result.ToDictionary())
            violations.TryAdd(field, messages);
    }

    /// <summary>The schema of the body this request sends, or null when there is nothing to check here.</summary>
    private static Json.Schema.JsonSchema? SchemaFor(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName is not { } operationId
            || SpecSchemas.HasRawBody(operationId)
            || !HttpMethods.IsPost(http.Request.Method) && !HttpMethods.IsPut(http.Request.Method) && !HttpMethods.IsPatch(http.Request.Method))
            return null;
        var mediaType = http.Items.TryGetValue(SentMediaType, out var sent) && sent is string yaml
            ? yaml
            : http.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        // A media type the operation does not list was refused by routing (415); none at all is the binder's to refuse.
        return mediaType is null ? null : SpecSchemas.RequestBody(operationId, mediaType);
    }

    /// <summary>The body's violations by field name; none when it is not JSON (the binder then says why).</summary>
    internal static Dictionary<string, string[]>? Violations(Json.Schema.JsonSchema schema, MemoryStream body, out bool partial)
    {
        partial = false;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.GetBuffer().AsMemory(0, (int)body.Length), Reading);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            IReadOnlyList<SpecViolation> violations;
            try
            {
                violations = SpecSchemas.Validate(schema, document.RootElement, out partial);
            }
            catch (InvalidOperationException)
            {
                return null; // a string that is not valid UTF-8: the binder refuses it, naming where
            }

            return violations
                .GroupBy(v => FieldName(document.RootElement, v.Pointer), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(v => v.Message).Distinct(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        }
    }

    /// <summary>"/rules/0/operations/1" is "rules[0].operations[1]", as validation problems name fields; the root is "body".</summary>
    public static string FieldName(JsonElement root, string pointer)
    {
        if (pointer.Length == 0)
            return "body";
        var name = new System.Text.StringBuilder();
        JsonElement? current = root;
        foreach (var escaped in pointer[1..].Split('/'))
        {
            var segment = escaped.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (current is { ValueKind: JsonValueKind.Array } array && int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
            {
                name.Append('[').Append(segment).Append(']');
                current = index < array.GetArrayLength() ? array[index] : null;
            }
            else
            {
                name.Append(name.Length > 0 ? "." : "").Append(segment);
                current = current is { ValueKind: JsonValueKind.Object } obj && obj.TryGetProperty(segment, out var child) ? child : null;
            }
        }

        return name.ToString();
    }
}

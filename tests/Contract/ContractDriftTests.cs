using System.Reflection;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>
/// The app's endpoints must be openapi.yaml's operations, operation by operation (method, path, operationId,
/// parameters, status codes, request and response types), read from the endpoints' own metadata; the only API
/// document served is openapi.yaml itself (as YAML and as JSON).
/// </summary>
public sealed class ContractDriftTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Endpoints_match_openapi_yaml_operation_by_operation()
    {
        await api.Http().GetAsync("/health");
        var served = Endpoints(api.Services).ToDictionary(o => o.Key);
        var contract = SpecDocument.Load().Operations.ToDictionary(o => o.Key);

        Assert.Equal(contract.Keys.Order(), served.Keys.Order());
        foreach (var (key, expected) in contract)
        {
            Assert.Equal($"{key} {Describe(expected)}", $"{key} {Describe(served[key])}");
        }
    }

    [Fact]
    public async Task Contract_is_served_verbatim_at_openapi_yaml()
    {
        var response = await api.Http().GetAsync("/openapi.yaml");

        Assert.Equal("application/yaml", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "openapi.yaml")), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Contract_is_served_as_json_at_openapi_json()
    {
        var response = await api.Http().GetAsync("/openapi.json");

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadAsStringAsync();
        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal("3.0.3", document.RootElement.GetProperty("openapi").GetString());
        // The same document: its operations, and its scalars typed as YAML's core schema types them.
        Assert.Equal(SpecDocument.Load().Operations.Select(o => $"{o.Key} {Describe(o)}"), SpecDocument.Parse(json).Operations.Select(o => $"{o.Key} {Describe(o)}"));
        var pid = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("PidOrNull");
        Assert.Equal(System.Text.Json.JsonValueKind.True, pid.GetProperty("nullable").ValueKind);
        Assert.Equal(2147483647, pid.GetProperty("maximum").GetInt64());
        Assert.Equal("1.0.0", document.RootElement.GetProperty("info").GetProperty("version").GetString());
    }

    [Fact]
    public async Task Swagger_ui_offers_only_the_contract()
    {
        var html = await api.Http().GetStringAsync("/swagger/index.html");
        Assert.Contains("swagger-ui", html, StringComparison.OrdinalIgnoreCase);
        // The page's configuration (the documents it offers) is in index.js.
        var config = await api.Http().GetStringAsync("/swagger/index.js");
        Assert.Contains("\"url\":\"/openapi.yaml\"", config, StringComparison.Ordinal);
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(config, "\"url\":"));

        // No second document built from the endpoints.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await api.Http().GetAsync("/swagger/v1/swagger.json")).StatusCode);
    }

    [Theory]
    [InlineData("operationId: getToken", "operationId: fetchToken")]
    [InlineData("        - $ref: \"#/components/parameters/Cursor\"\n", "")]
    [InlineData("        \"412\":\n          $ref: \"#/components/responses/PreconditionFailed\"\n", "")]
    [InlineData("$ref: \"#/components/schemas/TokenCreate\"", "$ref: \"#/components/schemas/Token\"")]
    public void Drift_check_sees_each_kind_of_change(string original, string replacement)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, "openapi.yaml"));
        Assert.Contains(original, text);
        var before = SpecDocument.Parse(text).Operations.Select(o => $"{o.Key} {Describe(o)}");
        var after = SpecDocument.Parse(text.Replace(original, replacement)).Operations.Select(o => $"{o.Key} {Describe(o)}");
        Assert.NotEqual(before, after);
    }

    private static string Describe(SpecOperation o) =>
        $"{o.OperationId} params=[{string.Join(", ", o.Parameters)}] statuses=[{string.Join(", ", o.StatusCodes)}] request={o.RequestSchema} responses=[{string.Join(", ", o.ResponseSchemas)}]";

    /// <summary>The app's routed operations as <see cref="SpecDocument"/> describes the contract's.</summary>
    private static IEnumerable<SpecOperation> Endpoints(IServiceProvider services)
    {
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var metadata = endpoint.Metadata;
            if (metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true })
                continue;
            var produces = metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>();
            var parameters = metadata.GetOrderedMetadata<IParameterBindingMetadata>().Select(Parameter).OfType<string>().Order(StringComparer.Ordinal).ToList();
            foreach (var method in metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [])
            {
                yield return new SpecOperation(
                    method,
                    "/" + endpoint.RoutePattern.RawText!.TrimStart('/'),
                    metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "(none)",
                    parameters,
                    produces.Select(p => p.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal).ToList(),
                    metadata.GetMetadata<IAcceptsMetadata>()?.RequestType is { } request ? SchemaName(request) : null,
                    produces.Select(p => $"{p.StatusCode}:{(p.Type is { } type && type != typeof(void) ? SchemaName(type) : "-")}").Order(StringComparer.Ordinal).ToList());
            }
        }
    }

    /// <summary>"in:name:required|optional" of a bound parameter, as the spec lists it; null for the handler's own (services, context, token).</summary>
    private static string? Parameter(IParameterBindingMetadata binding)
    {
        var info = binding.ParameterInfo;
        var (place, name) = info.GetCustomAttribute<FromQueryAttribute>() is { } query ? ("query", query.Name)
            : info.GetCustomAttribute<FromHeaderAttribute>() is { } header ? ("header", header.Name)
            : info.GetCustomAttribute<FromRouteAttribute>() is { } route ? ("path", route.Name)
            : (null, null);
        if (place is null)
            return null;
        return $"{place}:{name}:{(place == "path" || !binding.IsOptional ? "required" : "optional")}";
    }

    /// <summary>A DTO's schema name is its class name (NSwag names them so); lists and files are inline schemas.</summary>
    private static string SchemaName(Type type) => type.IsArray || type.IsGenericType ? "inline" : type.Name;
}

using Platform.Tests.Infrastructure;

namespace Platform.Tests.Contract;

/// <summary>The document the server describes (Swashbuckle, from its endpoints) must be openapi.yaml, operation by operation.</summary>
public sealed class ContractDriftTests(SqliteApi api) : IClassFixture<SqliteApi>
{
    [Fact]
    public async Task Served_document_matches_openapi_yaml_operation_by_operation()
    {
        var served = SpecDocument.Parse(await api.Http().GetStringAsync("/swagger/v1/swagger.json")).Operations.ToDictionary(o => o.Key);
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
    public async Task Swagger_ui_is_served()
    {
        var html = await api.Http().GetStringAsync("/swagger/index.html");
        Assert.Contains("swagger-ui", html, StringComparison.OrdinalIgnoreCase);
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
}

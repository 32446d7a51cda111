namespace Platform.Api.Docs;

/// <summary>
/// The contract is the only API document served: /openapi.yaml is openapi.yaml verbatim, /openapi.json the same
/// document as JSON (turned once, for tools that read only JSON), and Swagger UI at /swagger shows it. No document
/// is built from the endpoints: the generated route table is the contract's (tests/Contract/ContractDriftTests
/// compares the app's endpoints with openapi.yaml).
/// </summary>
public static class DocsSetup
{
    private static readonly Lazy<byte[]> Json = new(() => Http.YamlJson.ToJson(Contract.Text));

    public static WebApplication MapPlatformDocs(this WebApplication app)
    {
        app.MapGet("/openapi.yaml", () => Results.Text(Contract.Text, "application/yaml")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/openapi.json", () => Results.Bytes(Json.Value, "application/json")).ExcludeFromDescription().AllowAnonymous();
        app.UseSwaggerUI(ui =>
        {
            ui.DocumentTitle = "Platform API";
            ui.SwaggerEndpoint("/openapi.yaml", "Platform API (openapi.yaml)");
        });
        return app;
    }
}

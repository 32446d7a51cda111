using Microsoft.OpenApi;

namespace Platform.Api.Docs;

/// <summary>
/// /openapi.yaml serves the contract verbatim; /swagger serves Swagger UI over the document Swashbuckle builds
/// from the endpoints (which the contract tests compare with openapi.yaml).
/// </summary>
public static class DocsSetup
{
    public static IServiceCollection AddPlatformDocs(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo { Title = "Platform API", Version = "1.0.0" });
            // Schema names are the contract's (the generated DTOs carry them), not namespaced CLR names.
            swagger.CustomSchemaIds(type => type.Name);
            swagger.AddSecurityDefinition("bearerAuth", new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer" });
        });
        return services;
    }

    public static WebApplication MapPlatformDocs(this WebApplication app)
    {
        app.MapGet("/openapi.yaml", () => Results.Text(Contract.Text, "application/yaml")).ExcludeFromDescription().AllowAnonymous();
        app.UseSwagger();
        app.UseSwaggerUI(ui =>
        {
            ui.SwaggerEndpoint("/openapi.yaml", "Platform API (contract)");
            ui.SwaggerEndpoint("/swagger/v1/swagger.json", "Platform API (as served)");
        });
        return app;
    }
}

using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Json;

namespace Platform.Api.Http;

public static class JsonSetup
{
    /// <summary>camelCase, nulls left out, unknown, duplicate and miscased properties refused, required properties (from openapi.yaml) enforced.</summary>
    public static IServiceCollection AddPlatformJson(this IServiceCollection services)
    {
        services.Configure<JsonOptions>(options =>
        {
            var json = options.SerializerOptions;
            json.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            json.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            json.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            // Subtypes of the contract (telemetry events) by their discriminator, wherever it is in the object.
            json.TypeInfoResolver = SpecRequiredProperties.Resolver(json.TypeInfoResolver).WithAddedModifier(Discriminators.Modify).WithAddedModifier(StrictJson.Modify);
            json.Converters.Add(new Discriminators.ConverterFactory());
            json.Converters.Add(new UtcTimestampConverter());
            // Exact names once each, enums as the spec's exact strings everywhere (lists included), no NUL, no null items.
            StrictJson.Apply(json);
        });
        return services;
    }
}

using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Json;

namespace Platform.Api.Http;

public static class JsonSetup
{
    /// <summary>camelCase, nulls left out, unknown properties refused, required properties (from openapi.yaml) enforced.</summary>
    public static IServiceCollection AddPlatformJson(this IServiceCollection services)
    {
        services.Configure<JsonOptions>(options =>
        {
            var json = options.SerializerOptions;
            json.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            json.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            json.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            // Subtypes of the contract (telemetry events) by their discriminator, wherever it is in the object.
            json.TypeInfoResolver = SpecRequiredProperties.Resolver(json.TypeInfoResolver).WithAddedModifier(Discriminators.Modify);
            json.Converters.Add(new Discriminators.ConverterFactory());
            json.Converters.Add(new UtcTimestampConverter());
            // Enums travel as the spec's strings everywhere, lists of enums included (see contracts/PlatformClient.Json.cs).
            json.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
        });
        return services;
    }
}

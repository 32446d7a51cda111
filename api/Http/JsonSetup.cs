using System.Text.Json;
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
            json.AllowOutOfOrderMetadataProperties = true;
            json.TypeInfoResolver = SpecRequiredProperties.Resolver(json.TypeInfoResolver);
            json.Converters.Add(new UtcTimestampConverter());
            // Enums travel as the spec's strings everywhere, lists of enums included (see contracts/PlatformClient.Json.cs).
            json.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
        });
        return services;
    }
}

using System.Text.Json.Serialization.Metadata;
using Platform.Api.Docs;

namespace Platform.Api.Http;

/// <summary>
/// The generated DTOs do not say which properties are required, so a missing <c>role</c> would quietly bind
/// as the enum's first value. This marks the properties that openapi.yaml lists under <c>required</c> as
/// required, so a body without them is refused with 400 naming them (a subtype's include its base's).
/// </summary>
public static class SpecRequiredProperties
{
    public static IJsonTypeInfoResolver Resolver(IJsonTypeInfoResolver? inner)
    {
        var required = Contract.RequiredProperties;
        // A new resolver each time: the framework's default one is shared and frozen after first use.
        return (inner ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(typeInfo =>
        {
            if (typeInfo.Kind != JsonTypeInfoKind.Object
                || typeInfo.Type.Assembly != typeof(Platform.Contracts.PlatformClient).Assembly
                || !required.TryGetValue(typeInfo.Type.Name, out var names))
                return;
            foreach (var property in typeInfo.Properties)
            {
                if (names.Contains(property.Name))
                    property.IsRequired = true;
            }
        });
    }
}

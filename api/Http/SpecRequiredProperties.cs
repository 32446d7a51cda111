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
    private static bool IsPolymorphic(Type? type)
    {
        for (; type is not null; type = type.BaseType)
        {
            if (type.IsDefined(typeof(System.Text.Json.Serialization.JsonPolymorphicAttribute), inherit: false))
                return true;
        }

        return false;
    }

    public static IJsonTypeInfoResolver Resolver(IJsonTypeInfoResolver? inner)
    {
        var required = Contract.RequiredProperties;
        // A new resolver each time: the framework's default one is shared and frozen after first use.
        return (inner ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(typeInfo =>
        {
            if (typeInfo.Kind != JsonTypeInfoKind.Object || typeInfo.Type.Assembly != typeof(Platform.Contracts.PlatformClient).Assembly)
                return;
            // NSwag gives a base schema of subtypes (allOf) a bag for properties it does not know, which would
            // take in any field at all; without it unknown fields are refused as everywhere else. (Maps keep theirs.)
            if (IsPolymorphic(typeInfo.Type))
            {
                for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
                {
                    if (typeInfo.Properties[i].IsExtensionData)
                        typeInfo.Properties.RemoveAt(i);
                }
            }

            if (!required.TryGetValue(typeInfo.Type.Name, out var names))
                return;
            foreach (var property in typeInfo.Properties)
            {
                if (names.Contains(property.Name))
                    property.IsRequired = true;
            }
        });
    }
}

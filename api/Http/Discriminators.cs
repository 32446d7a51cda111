using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Api.Http;

/// <summary>
/// Reads and writes the contract's polymorphic schemas (a base with a discriminator, subtypes by allOf) without
/// System.Text.Json's out-of-order metadata support, which buffers and re-reads every object: at flight-data
/// rates that was a third of the parsing. The converter looks ahead in the object for the discriminator
/// (wherever it is: clients need not put it first) and reads the object as its subtype; each subtype carries the
/// discriminator as an ordinary first property, checked on the way in and written on the way out.
/// </summary>
public static class Discriminators
{
    /// <summary>
    /// Adds the discriminator property to subtypes and turns off the serializer's own polymorphism for their
    /// bases. NSwag also gives such a base a bag for properties it does not know, which would take in any field
    /// at all: the subtypes lose it, so unknown fields are refused as everywhere else.
    /// </summary>
    public static void Modify(JsonTypeInfo typeInfo)
    {
        // A base is read by the converter below (its type info is not an object's then).
        if (Polymorphic(typeInfo.Type) is not null)
        {
            typeInfo.PolymorphismOptions = null;
            return;
        }

        if (typeInfo.Kind != JsonTypeInfoKind.Object || typeInfo.Type.BaseType is not { } baseType || Polymorphic(baseType) is not { } attribute)
            return;
        for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
        {
            if (typeInfo.Properties[i].IsExtensionData)
                typeInfo.Properties.RemoveAt(i);
        }

        var value = baseType.GetCustomAttributes<JsonDerivedTypeAttribute>().Single(d => d.DerivedType == typeInfo.Type).TypeDiscriminator as string;
        var property = typeInfo.CreateJsonPropertyInfo(typeof(string), attribute.TypeDiscriminatorPropertyName!);
        property.Get = _ => value;
        property.Set = (_, given) =>
        {
            if (!string.Equals((string?)given, value, StringComparison.Ordinal))
                throw new JsonException($"'{attribute.TypeDiscriminatorPropertyName}' does not match the object.");
        };
        property.Order = int.MinValue;
        typeInfo.Properties.Insert(0, property);
    }

    private static JsonPolymorphicAttribute? Polymorphic(Type type) => type.GetCustomAttribute<JsonPolymorphicAttribute>(inherit: false);

    /// <summary>Makes the converter for each polymorphic base of the contract.</summary>
    public sealed class ConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) => Polymorphic(typeToConvert) is not null;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert))!;
    }

    private sealed class Converter<TBase> : JsonConverter<TBase>
        where TBase : class
    {
        private readonly string _name = Polymorphic(typeof(TBase))!.TypeDiscriminatorPropertyName!;

        private readonly Dictionary<string, Type> _subtypes = typeof(TBase).GetCustomAttributes<JsonDerivedTypeAttribute>()
            .ToDictionary(d => (string)d.TypeDiscriminator!, d => d.DerivedType, StringComparer.Ordinal);

        public override TBase? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
                throw new JsonException($"Expected an object for {typeof(TBase).Name}.");
            // The serializer hands a converter the whole object: look ahead in a copy of the reader.
            var ahead = reader;
            string? value = null;
            while (ahead.Read() && ahead.TokenType == JsonTokenType.PropertyName)
            {
                var isDiscriminator = ahead.ValueTextEquals(_name);
                ahead.Read();
                if (isDiscriminator)
                {
                    value = ahead.TokenType == JsonTokenType.String ? ahead.GetString() : null;
                    break;
                }

                // The whole object is buffered (TrySkip, because the reader may be a partial one over the request).
                if (!ahead.TrySkip())
                    break;
            }

            if (value is null || !_subtypes.TryGetValue(value, out var subtype))
                throw new JsonException($"'{_name}' is required and must be one of: {string.Join(", ", _subtypes.Keys)}.");
            return (TBase?)JsonSerializer.Deserialize(ref reader, options.GetTypeInfo(subtype));
        }

        public override void Write(Utf8JsonWriter writer, TBase value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value, options.GetTypeInfo(value.GetType()));
    }
}

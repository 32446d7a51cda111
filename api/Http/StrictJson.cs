using System.Collections;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Api.Http;

/// <summary>
/// Request bodies are read as the spec writes them and nothing looser: names in their exact case and once each,
/// enums as the spec's exact strings (no numbers, no other case, no padding), numbers as numbers, no NUL in any
/// string (PostgreSQL cannot store it), no null for a field the contract does not make nullable and no null items
/// in arrays or maps. Each violation is a JsonException
/// that <see cref="ProblemHandling"/> turns into a 400 naming the field.
/// </summary>
public static class StrictJson
{
    public static void Apply(JsonSerializerOptions json)
    {
        json.AllowDuplicateProperties = false;
        json.PropertyNameCaseInsensitive = false;
        json.NumberHandling = JsonNumberHandling.Strict;
        json.RespectNullableAnnotations = true;
        json.Converters.Add(new NoNulString());
        json.Converters.Add(new SpecEnumConverterFactory());
    }

    /// <summary>
    /// The generated contract puts <c>JsonStringEnumConverter&lt;T&gt;</c> on enum properties, which reads numbers,
    /// any case and padded values; the spec's strict converter replaces it. Collections refuse null items.
    /// </summary>
    public static void Modify(JsonTypeInfo typeInfo)
    {
        if (typeInfo.Kind != JsonTypeInfoKind.Object)
            return;
        foreach (var property in typeInfo.Properties)
        {
            // RespectNullableAnnotations (Apply) refuses an explicit null for a field the contract does not declare
            // nullable, which would reach validators and handlers as a missing object; it would refuse to write
            // one too, and what the api writes is not checked this way: writing accepts null everywhere.
            if (!property.PropertyType.IsValueType || Nullable.GetUnderlyingType(property.PropertyType) is not null)
                property.IsGetNullable = true;
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type.IsEnum && property.CustomConverter is not null)
                property.CustomConverter = null; // the options' strict factory, which also serves nullable enums
            else if (property.Set is { } set && type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type) && HasReferenceItems(type))
                property.Set = (target, value) =>
                {
                    if (value is IEnumerable items && ContainsNull(items))
                        throw new JsonException("must not contain null items.");
                    set(target, value);
                };
        }
    }

    private static bool HasReferenceItems(Type collection)
    {
        var item = collection.IsArray ? collection.GetElementType() : collection.GetInterfaces().Append(collection)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
        if (item is { IsGenericType: true } && item.GetGenericTypeDefinition() == typeof(KeyValuePair<,>))
            item = item.GetGenericArguments()[1];
        return item is not null && (!item.IsValueType || Nullable.GetUnderlyingType(item) is not null);
    }

    private static bool ContainsNull(IEnumerable items)
    {
        if (items is IDictionary map)
        {
            foreach (var value in map.Values)
            {
                if (value is null)
                    return true;
            }

            return false;
        }

        foreach (var item in items)
        {
            if (item is null)
                return true;
        }

        return false;
    }

    /// <summary>Strings, map keys included, without NUL characters (invalid UTF-8 is refused by the reader itself).</summary>
    private sealed class NoNulString : JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new JsonException("must be a string.");
            return Checked(reader.GetString()!);
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Checked(reader.GetString()!);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);

        private static string Checked(string value) =>
            value.Contains('\0', StringComparison.Ordinal) ? throw new JsonException("must not contain NUL (U+0000) characters.") : value;
    }

    private sealed class SpecEnumConverterFactory : JsonConverterFactory
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, JsonConverter> Converters = new();

        public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            Converters.GetOrAdd(typeToConvert, t => (JsonConverter)Activator.CreateInstance(typeof(SpecEnumConverter<>).MakeGenericType(t))!);
    }

    private sealed class SpecEnumConverter<T> : JsonConverter<T>
        where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                // A value split across buffers of a streamed body has no ValueSpan; escaped ones need unescaping.
                var found = reader.ValueIsEscaped || reader.HasValueSequence
                    ? SpecEnum.FindUtf8<T>(System.Text.Encoding.UTF8.GetBytes(reader.GetString()!))
                    : SpecEnum.FindUtf8<T>(reader.ValueSpan);
                if (found is { } value)
                    return value;
            }

            throw new JsonException($"must be one of: {string.Join(", ", SpecEnum.Values<T>())}.");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(SpecEnum.ToSpecUtf8(value));

        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Read(ref reader, typeToConvert, options);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WritePropertyName(SpecEnum.ToSpecUtf8(value));
    }
}

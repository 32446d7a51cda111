using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Platform.Tests.Infrastructure;

/// <summary>Request bodies for raw-HTTP tests, serialised as the API expects (enums as the spec's strings).</summary>
public static class TestJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public static JsonContent Content<T>(T value) => JsonContent.Create(value, options: Options);
}

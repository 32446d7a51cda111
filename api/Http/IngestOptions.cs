namespace Platform.Api.Http;

/// <summary>Bound from <c>Platform:Ingest</c>. Documented in openapi.yaml; change both together.</summary>
public sealed class IngestOptions
{
    public const string Section = "Platform:Ingest";

    /// <summary>How far ahead of the API's clock an agent's clock may run: later event, alert and check times are refused.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}

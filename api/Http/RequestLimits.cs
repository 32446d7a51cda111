namespace Platform.Api.Http;

/// <summary>Bound from <c>Platform:Limits</c>. Documented in openapi.yaml; change both together.</summary>
public sealed class RequestLimits
{
    public const string Section = "Platform:Limits";

    /// <summary>Largest request body Kestrel accepts; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
}

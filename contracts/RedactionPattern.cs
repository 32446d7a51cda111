namespace Platform.Contracts;

public sealed class RedactionPattern
{
    public string? Name { get; set; }

    public string? Pattern { get; set; }
}

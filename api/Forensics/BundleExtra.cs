namespace Platform.Api.Forensics;

public sealed record BundleExtra(string Name, byte[] Content);

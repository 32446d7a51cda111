namespace Platform.Api.Forensics;

/// <summary>A built bundle: its file, the SHA-256 of the whole zip (what the audit log records) and its size.</summary>
public sealed record BuiltBundle(string Path, string Sha256, long Length);

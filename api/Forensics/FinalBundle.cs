namespace Platform.Api.Forensics;

/// <summary>An incident's final bundle as it was kept when it became final: served as it is from then on.</summary>
public sealed record FinalBundle(string Identity, BuiltBundle File);

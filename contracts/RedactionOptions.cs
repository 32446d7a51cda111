namespace Platform.Contracts;

/// <summary>
/// Redaction settings, the same shape for the api (<c>Platform:Redaction</c>) and the agent (<c>Platform:Agent:Redaction</c>):
/// patterns and names added to the built-in rules (which cannot be turned off).
/// </summary>
public sealed class RedactionOptions
{
    /// <summary>Regular expressions (run without backtracking); a match, or its group named <c>secret</c>, is redacted with the pattern's name as reason.</summary>
    public List<RedactionPattern>? Patterns { get; set; }

    /// <summary>More words a secret's name may end with (like the built-in password, secret, token...).</summary>
    public List<string>? SecretNames { get; set; }
}

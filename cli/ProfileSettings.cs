namespace Platform.Cli;

public sealed class ProfileSettings
{
    public string? Server { get; set; }

    /// <summary>The file holding the token: the one <c>login</c> wrote, or one the user keeps elsewhere.</summary>
    public string? TokenFile { get; set; }
}

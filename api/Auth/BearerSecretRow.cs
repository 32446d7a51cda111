namespace Platform.Api.Auth;

/// <summary>
/// What an API token and an enrollment token both are, as stored: a named bearer secret (its hash and the prefix
/// shown to recognise it, <see cref="Secrets"/>), made by someone at a time, that may expire and may be revoked.
/// </summary>
public abstract class BearerSecretRow
{
    public required string Name { get; init; }
    public required string SecretHash { get; init; }
    public required string Prefix { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public string? CreatedBy { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Why the secret no longer lets its holder in at <paramref name="now"/>, or null while it does.</summary>
    public string? Refusal(DateTimeOffset now, string what) =>
        RevokedAt is not null ? $"The {what} has been revoked."
        : ExpiresAt <= now ? $"The {what} has expired."
        : null;
}

namespace Platform.Api.Auth;

/// <summary>Bound from <c>Platform:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Platform:Auth";

    /// <summary>
    /// How long a looked-up credential (its token row and agent) is reused before it is read again; 0 reads it on
    /// every request. A change made through this api instance (revocation, new labels) takes effect at once; one
    /// made through another instance sharing the database, within this time.
    /// </summary>
    public int CredentialCacheSeconds { get; set; } = 5;

    /// <summary>At most this many credentials are remembered (the least recently used go first).</summary>
    public int CredentialCacheEntries { get; set; } = 100_000;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (CredentialCacheSeconds < 0)
            yield return $"{Section}:CredentialCacheSeconds must be 0 (off) or more.";
        if (CredentialCacheEntries < 1)
            yield return $"{Section}:CredentialCacheEntries must be at least 1.";
    }
}

namespace Platform.Api.Enrollment;

/// <summary>
/// Bound from <c>Platform:Enrollment</c>: what an enrollment token gets when its request leaves its use count or its
/// expiry out. An enrollment token mints agent credentials, so one that leaks should do as little as possible: by
/// default it enrolls one host within a day. A rollout that enrolls a fleet with one token says so (maxUses, expiresAt).
/// </summary>
public sealed class EnrollmentOptions
{
    public const string Section = "Platform:Enrollment";

    /// <summary>The furthest expiry a request may give (openapi.yaml, EnrollmentTokenCreate.expiresAt).</summary>
    public static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>The most uses a request may give (openapi.yaml, EnrollmentTokenCreate.maxUses: its schema's maximum).</summary>
    public const int MaxUses = 100_000;

    /// <summary>How long a token works when its request gives no <c>expiresAt</c>.</summary>
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How many agents may enroll with a token whose request gives no <c>maxUses</c>.</summary>
    public int DefaultMaxUses { get; set; } = 1;

    /// <summary>Settings that cannot work, each named; refused when the API starts (see <see cref="Http.CheckedOptions"/>).</summary>
    public IEnumerable<string> Problems()
    {
        if (DefaultTokenLifetime < TimeSpan.FromMinutes(1) || DefaultTokenLifetime > MaxTokenLifetime)
            yield return $"{Section}:DefaultTokenLifetime must be between 1 minute and 30 days.";
        if (DefaultMaxUses is < 1 or > MaxUses)
            yield return $"{Section}:DefaultMaxUses must be between 1 and {MaxUses}.";
    }
}

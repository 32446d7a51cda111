namespace Platform.Api.Enrollment;

public sealed class EnrollmentTokenRow : BearerSecretRow
{
    public required string EnrollmentTokenId { get; init; }
    public required string LabelsJson { get; init; }
    public int? MaxUses { get; init; }
    public int Uses { get; init; }

    /// <summary>Why no more agents may enroll with it at <paramref name="now"/>, or null while they may.</summary>
    public string? EnrollmentRefusal(DateTimeOffset now) =>
        Refusal(now, "enrollment token")
        ?? (MaxUses is { } max && Uses >= max
            ? $"The enrollment token is used up: {Uses} of {max} agents enrolled with it. Create another (maxUses up to {EnrollmentOptions.MaxUses})."
            : null);

    public EnrollmentToken ToContract() => new()
    {
        Id = EnrollmentTokenId,
        Name = Name,
        Labels = Labels.Read(LabelsJson),
        MaxUses = MaxUses,
        Uses = Uses,
        Prefix = Prefix,
        CreatedAt = CreatedAt,
        CreatedBy = CreatedBy,
        ExpiresAt = ExpiresAt,
        RevokedAt = RevokedAt,
    };
}

/// <summary>Labels are stored as a JSON object on both providers.</summary>
public static class Labels
{
    public static IDictionary<string, string> Read(string json) => JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];

    public static string Write(IDictionary<string, string>? labels) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(labels ?? new Dictionary<string, string>(), StringComparer.Ordinal));
}

public sealed class EnrollmentStore(Database database)
{
    private const string Columns = "enrollment_token_id, name, labels_json, max_uses, uses, secret_hash, prefix, created_at, created_by, expires_at, revoked_at";
    private static readonly string Insert = InsertStatement.For("enrollment_token", Columns);

    public static Task InsertAsync(Database.Write write, EnrollmentTokenRow row, CancellationToken cancellationToken) =>
        write.ExecuteAsync(Insert, row, cancellationToken);

    public Task<EnrollmentTokenRow?> FindBySecretHashAsync(string secretHash, CancellationToken cancellationToken) =>
        database.QuerySingleOrDefaultAsync<EnrollmentTokenRow>($"select {Columns} from enrollment_token where secret_hash = @secretHash", new { secretHash }, cancellationToken);

    public static Task<EnrollmentTokenRow?> FindAsync(Database.Write write, string enrollmentTokenId, CancellationToken cancellationToken) =>
        write.QuerySingleOrDefaultAsync<EnrollmentTokenRow>($"select {Columns} from enrollment_token where enrollment_token_id = @enrollmentTokenId", new { enrollmentTokenId }, cancellationToken);

    public async Task<IReadOnlyList<EnrollmentTokenRow>> ListAsync(string? afterId, int limit, bool includeRevoked, CancellationToken cancellationToken)
    {
        const string sql = $"""
            select {Columns} from enrollment_token
            where (@afterId is null or enrollment_token_id > @afterId)
              and (@includeRevoked or revoked_at is null)
            order by enrollment_token_id
            limit @take
            """;
        return await database.QueryAsync<EnrollmentTokenRow>(sql, new { afterId, includeRevoked, take = limit + 1 }, cancellationToken);
    }

    public static async Task<bool> RevokeAsync(Database.Write write, string enrollmentTokenId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            "update enrollment_token set revoked_at = @now where enrollment_token_id = @enrollmentTokenId and revoked_at is null",
            new { enrollmentTokenId, now }, cancellationToken) == 1;

    /// <summary>
    /// Takes one use of the token in a single statement, so concurrent enrollments cannot exceed maxUses.
    /// False when it is revoked, expired or used up.
    /// </summary>
    public static async Task<bool> TryUseAsync(Database.Write write, string enrollmentTokenId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await write.ExecuteAsync(
            """
            update enrollment_token set uses = uses + 1
            where enrollment_token_id = @enrollmentTokenId
              and revoked_at is null
              and (expires_at is null or expires_at > @now)
              and (max_uses is null or uses < max_uses)
            """,
            new { enrollmentTokenId, now }, cancellationToken) == 1;
}

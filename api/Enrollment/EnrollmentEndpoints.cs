using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Generated;

namespace Platform.Api.Enrollment;

public sealed class EnrollmentTokenCreateValidator : AbstractValidator<EnrollmentTokenCreate>
{
    public EnrollmentTokenCreateValidator(TimeProvider time)
    {
        RuleFor(t => t.Name).NotBlank();
        RuleFor(t => t.Labels).SetValidator(new LabelsValidator()!).When(t => t.Labels is not null);
        RuleFor(t => t.ExpiresAt).InTheFuture(time)
            .Must(at => at is null || at <= time.GetUtcNow() + EnrollmentOptions.MaxTokenLifetime)
            .WithMessage("'{PropertyName}' must be at most 30 days ahead: an enrollment token is for a rollout, not a standing credential.");
    }
}

public sealed class EnrollmentEndpoints(EnrollmentStore enrollments, EnrollmentWriter writer, EnrollmentOptions options, TimeProvider time, Cursors cursors) : EnrollmentHandlersBase
{
    public override async Task<Results<Created<EnrollmentTokenCreated>, ProblemHttpResult>> CreateEnrollmentToken(HttpContext http, EnrollmentTokenCreate body, CancellationToken cancellationToken)
    {
        var caller = http.Caller();
        var secret = Secrets.New(Secrets.EnrollmentTokenPrefix);
        var now = time.GetUtcNow();
        var row = new EnrollmentTokenRow
        {
            EnrollmentTokenId = Ids.New("enr"),
            Name = body.Name,
            LabelsJson = Labels.Write(body.Labels),
            // Left out, the server's bounded defaults (EnrollmentOptions): no new token is unlimited.
            MaxUses = body.MaxUses ?? options.DefaultMaxUses,
            SecretHash = Secrets.Hash(secret),
            Prefix = Secrets.Display(secret),
            CreatedAt = now,
            CreatedBy = caller.TokenId,
            ExpiresAt = body.ExpiresAt?.ToUniversalTime() ?? now + options.DefaultTokenLifetime,
        };
        await writer.CreateAsync(caller, row, cancellationToken);
        return TypedResults.Created((string?)null, new EnrollmentTokenCreated { EnrollmentToken = row.ToContract(), Secret = secret });
    }

    public override async Task<Results<Ok<EnrollmentTokenPage>, ProblemHttpResult>> ListEnrollmentTokens(HttpContext http, int limit, string? cursor, bool includeRevoked, CancellationToken cancellationToken)
    {
        var rows = await enrollments.ListAsync(cursors.TryDecode(CursorLists.EnrollmentTokens, cursor, out var after) ? after : null, limit, includeRevoked, cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.EnrollmentTokens, row => row.EnrollmentTokenId);
        return TypedResults.Ok(new EnrollmentTokenPage { Items = items.Select(row => row.ToContract()).ToList(), NextCursor = next });
    }

    public override async Task<Results<NoContent, ProblemHttpResult>> RevokeEnrollmentToken(HttpContext http, string enrollmentTokenId, CancellationToken cancellationToken) =>
        await writer.RevokeAsync(http.Caller(), enrollmentTokenId, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound($"Enrollment token '{enrollmentTokenId}' does not exist.");
}

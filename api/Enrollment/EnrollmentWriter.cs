using Platform.Api.Audit;

namespace Platform.Api.Enrollment;

/// <summary>Enrollment token changes with their audit entry, each in one write.</summary>
public sealed class EnrollmentWriter(Database database, AuditLog audit, TimeProvider time)
{
    public async Task CreateAsync(Caller caller, EnrollmentTokenRow row, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await EnrollmentStore.InsertAsync(write, row, cancellationToken);
        await audit.AppendAsync(write, caller, "enrollment-token.create", "enrollment-token", row.EnrollmentTokenId, null, row.ToContract(), cancellationToken);
        await write.CommitAsync(cancellationToken);
    }

    /// <summary>Revokes the token unless it already is (audited when this call did); false when there is no such token.</summary>
    public async Task<bool> RevokeAsync(Caller caller, string enrollmentTokenId, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        var before = await EnrollmentStore.FindAsync(write, enrollmentTokenId, cancellationToken);
        if (before is null)
            return false;
        if (await EnrollmentStore.RevokeAsync(write, enrollmentTokenId, time.GetUtcNow(), cancellationToken))
        {
            var after = await EnrollmentStore.FindAsync(write, enrollmentTokenId, cancellationToken);
            await audit.AppendAsync(write, caller, "enrollment-token.revoke", "enrollment-token", enrollmentTokenId, before.ToContract(), after!.ToContract(), cancellationToken);
        }

        await write.CommitAsync(cancellationToken);
        return true;
    }
}

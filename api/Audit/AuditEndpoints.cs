using Platform.Api.Generated;

namespace Platform.Api.Audit;

public sealed class AuditEndpoints(AuditLog auditLog, Cursors cursors) : AuditHandlersBase
{
    public override async Task<Results<Ok<AuditEntryPage>, ProblemHttpResult>> ListAuditEntries(HttpContext http, int limit, string? cursor, string? actorTokenId, string? action, string? targetType, string? targetId, DateTimeOffset? since, DateTimeOffset? until, CancellationToken cancellationToken)
    {
        var rows = await auditLog.ListAsync(new AuditQuery(cursors.TryDecode(CursorLists.Audit, cursor, out var after) ? after : null, limit, actorTokenId, action, targetType, targetId, since, until), cancellationToken);
        var (items, next) = cursors.Page(rows, limit, CursorLists.Audit, row => row.AuditId);
        return TypedResults.Ok(new AuditEntryPage { Items = items.Select(AuditLog.ToContract).ToList(), NextCursor = next });
    }
}

namespace Platform.Api.Fim;

/// <summary>An agent's report of baseline checks (<see cref="ComplianceStore"/>), in one write of its own (a report has no audit entry).</summary>
public sealed class ComplianceWriter(Database database)
{
    public async Task RecordChecksAsync(string agentId, IEnumerable<BaselineCheckRow> checks, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await ComplianceStore.RecordAsync(write, agentId, checks, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }
}

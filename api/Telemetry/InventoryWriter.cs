namespace Platform.Api.Telemetry;

/// <summary>An agent's inventory report (<see cref="TelemetryStore.ReplaceInventoryAsync"/>), in one write of its own (a report has no audit entry).</summary>
public sealed class InventoryWriter(Database database)
{
    public async Task ReplaceAsync(string agentId, DateTimeOffset reportedAt, InventoryReport inventory, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken);
        await TelemetryStore.ReplaceInventoryAsync(write, agentId, reportedAt, inventory, cancellationToken);
        await write.CommitAsync(cancellationToken);
    }
}

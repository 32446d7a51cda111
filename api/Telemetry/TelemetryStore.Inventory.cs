namespace Platform.Api.Telemetry;

public sealed partial class TelemetryStore
{
    public static Task ReplaceInventoryAsync(Storage.Database.Write write, string agentId, DateTimeOffset reportedAt, Platform.Contracts.InventoryReport inventory, CancellationToken cancellationToken)
    {
        var inventoryJson = System.Text.Json.JsonSerializer.Serialize(inventory, Segments.Json);
        return write.Db.ExecuteAsync(new CommandDefinition(
            """
            insert into agent_inventory (agent_id, reported_at, inventory_json) values (@agentId, @reportedAt, @inventoryJson)
            on conflict (agent_id) do update set reported_at = excluded.reported_at, inventory_json = excluded.inventory_json
            """, new { agentId, reportedAt, inventoryJson }, write.Transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The agent's last inventory, or empty lists (and no time) if it never reported one.</summary>
    public async Task<(DateTimeOffset? ReportedAt, Platform.Contracts.InventoryReport Inventory)> InventoryAsync(string agentId, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        var row = await db.QuerySingleOrDefaultAsync<InventoryRow>(new CommandDefinition(
            "select reported_at, inventory_json from agent_inventory where agent_id = @agentId", new { agentId }, cancellationToken: cancellationToken));
        return row is null
            ? (null, new Platform.Contracts.InventoryReport { Containers = [], Images = [] })
            : (row.ReportedAt, System.Text.Json.JsonSerializer.Deserialize<Platform.Contracts.InventoryReport>(row.InventoryJson, Segments.Json)!);
    }

    private sealed class InventoryRow
    {
        public DateTimeOffset ReportedAt { get; init; }
        public required string InventoryJson { get; init; }
    }
}

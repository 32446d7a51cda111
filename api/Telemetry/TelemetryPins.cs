namespace Platform.Api.Telemetry;

/// <summary>
/// Keeps flight data past the rolling caps: an incident pins its resource's data around its events (a host pin
/// covers the host's containers too) until the incident is archived plus <see cref="TelemetryOptions.PinnedAfterArchive"/>.
/// Incidents use this (in the write that changes the incident); it has no API of its own. All of <c>telemetry_pin</c>'s SQL is here.
/// </summary>
public sealed class TelemetryPins(TelemetryOptions options)
{
    /// <summary>
    /// "No unexpired pin covers segment <c>s</c>" (at <c>@now</c>), for retention's selects: pinned data neither rolls
    /// out nor counts against the caps.
    /// </summary>
    public const string NotPinned = """
        not exists (select 1 from telemetry_pin p
                    where p.agent_id = s.agent_id and (p.container_id is null or p.container_id = s.container_id)
                      and p.from_time <= s.last_time and p.until_time >= s.first_time
                      and (p.expires_at is null or p.expires_at > @now))
        """;

    /// <summary>Pins the data of a resource (<paramref name="containerId"/> null: the host) around <paramref name="firstEvent"/>..<paramref name="lastEvent"/>.</summary>
    public Task PinAsync(Database.Write write, string pinId, string agentId, string? containerId, DateTimeOffset firstEvent, DateTimeOffset lastEvent, string reason, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            """
            insert into telemetry_pin (pin_id, agent_id, container_id, from_time, until_time, reason, expires_at)
            values (@pinId, @agentId, @containerId, @from, @until, @reason, null)
            """,
            new { pinId, agentId, containerId, from = (firstEvent - options.PinBefore).ToUniversalTime(), until = (lastEvent + options.PinAfter).ToUniversalTime(), reason },
            write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Moves a pin to cover <paramref name="firstEvent"/>..<paramref name="lastEvent"/> (an incident's events grew).</summary>
    public Task CoverAsync(Database.Write write, string pinId, DateTimeOffset firstEvent, DateTimeOffset lastEvent, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            "update telemetry_pin set from_time = @from, until_time = @until where pin_id = @pinId",
            new { pinId, from = (firstEvent - options.PinBefore).ToUniversalTime(), until = (lastEvent + options.PinAfter).ToUniversalTime() },
            write.Transaction, cancellationToken: cancellationToken));

    /// <summary>The incident was archived at <paramref name="archivedAt"/>: its data is kept for the retention period after that.</summary>
    public async Task<bool> ReleaseAsync(Database.Write write, string pinId, DateTimeOffset archivedAt, CancellationToken cancellationToken) =>
        await ExpireAsync(write, pinId, (archivedAt + options.PinnedAfterArchive).ToUniversalTime(), cancellationToken) == 1;

    /// <summary>The incident is live again (reopened): its data is kept with no end.</summary>
    public Task KeepAsync(Database.Write write, string pinId, CancellationToken cancellationToken) => ExpireAsync(write, pinId, null, cancellationToken);

    private static Task<int> ExpireAsync(Database.Write write, string pinId, DateTimeOffset? expiresAt, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            "update telemetry_pin set expires_at = @expiresAt where pin_id = @pinId", new { pinId, expiresAt }, write.Transaction, cancellationToken: cancellationToken));

    /// <summary>Removes the pins expired at <paramref name="now"/> (retention's background work); how many.</summary>
    public static Task<int> DeleteExpiredAsync(Database.Write write, DateTimeOffset now, CancellationToken cancellationToken) =>
        write.Db.ExecuteAsync(new CommandDefinition(
            "delete from telemetry_pin where expires_at is not null and expires_at <= @now", new { now }, write.Transaction, cancellationToken: cancellationToken));
}

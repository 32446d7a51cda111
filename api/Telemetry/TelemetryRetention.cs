using Dapper;
using Platform.Api.Storage;

namespace Platform.Api.Telemetry;

/// <summary>
/// Keeps flight data past the rolling caps: an incident pins its resource's data around its events (a host pin
/// covers the host's containers too) until the incident is archived plus <see cref="TelemetryOptions.PinnedAfterArchive"/>.
/// It has no API of its own. IncidentStore writes the same rows itself, inside the transactions that open and
/// archive incidents; this class pins and releases on its own (the retention tests use it).
/// </summary>
public sealed class TelemetryPins(Database database, TelemetryOptions options)
{
    public async Task<string> PinAsync(string agentId, string? containerId, DateTimeOffset firstEvent, DateTimeOffset lastEvent, string reason, CancellationToken cancellationToken)
    {
        var pinId = Ids.New("pin");
        await using var db = await database.OpenAsync(cancellationToken);
        await db.ExecuteAsync(new CommandDefinition(
            """
            insert into telemetry_pin (pin_id, agent_id, container_id, from_time, until_time, reason, expires_at)
            values (@pinId, @agentId, @containerId, @from, @until, @reason, null)
            """,
            new { pinId, agentId, containerId, from = (firstEvent - options.PinBefore).ToUniversalTime(), until = (lastEvent + options.PinAfter).ToUniversalTime(), reason },
            cancellationToken: cancellationToken));
        return pinId;
    }

    /// <summary>The incident was archived at <paramref name="archivedAt"/>: its data is kept for the retention period after that.</summary>
    public async Task<bool> ReleaseAsync(string pinId, DateTimeOffset archivedAt, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return await db.ExecuteAsync(new CommandDefinition(
            "update telemetry_pin set expires_at = @expiresAt where pin_id = @pinId",
            new { pinId, expiresAt = (archivedAt + options.PinnedAfterArchive).ToUniversalTime() }, cancellationToken: cancellationToken)) == 1;
    }
}

/// <summary>What one retention pass removed.</summary>
public sealed record RetentionResult(int AgedOut, int OverCap, int PinsExpired);

/// <summary>
/// The rolling window: removes flight data past the age cap and the oldest data of each host and container over its
/// byte cap, never data an unexpired pin covers (pinned data does not count against the caps). Runs in the
/// background in small transactions, each its own writer turn on SQLite, so ingest goes on in between.
/// </summary>
public sealed class TelemetryRetention(Database database, TelemetryOptions options, TimeProvider time, ILogger<TelemetryRetention> logger) : BackgroundService
{
    private const int DeleteChunk = 200;

    private const string Unpinned = """
        not exists (select 1 from telemetry_pin p
                    where p.agent_id = s.agent_id and (p.container_id is null or p.container_id = s.container_id)
                      and p.from_time <= s.last_time and p.until_time >= s.first_time
                      and (p.expires_at is null or p.expires_at > @now))
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.RetentionInterval == TimeSpan.Zero)
            return;
        // Paced by the machine's clock; what is old is judged by the API's (which tests move).
        using var timer = new PeriodicTimer(options.RetentionInterval, TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "Flight data retention pass failed; the next pass tries again");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public async Task<RetentionResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var aged = await DeleteWhileAsync(
            $"select segment_id from telemetry_segment s where s.last_time < @oldest and {Unpinned} limit @take",
            new { oldest = now - options.MaxAge, now, take = DeleteChunk }, cancellationToken);

        var overCap = 0;
        foreach (var resource in await OverCapAsync(now, cancellationToken))
        {
            // The oldest unpinned segments, as many as it takes to get under the cap (read only that far).
            var excess = resource.Bytes - (resource.ContainerId.Length == 0 ? options.HostMaxBytes : options.ContainerMaxBytes);
            var doomed = new List<string>();
            await using (var db = await database.OpenAsync(cancellationToken))
            {
                await foreach (var (segmentId, storedBytes) in db.QueryUnbufferedAsync<(string SegmentId, long StoredBytes)>(
                    $"select segment_id, stored_bytes from telemetry_segment s where agent_id = @AgentId and container_id = @ContainerId and {Unpinned} order by last_time, segment_id",
                    new { resource.AgentId, resource.ContainerId, now }).WithCancellation(cancellationToken))
                {
                    doomed.Add(segmentId);
                    excess -= storedBytes;
                    if (excess <= 0)
                        break;
                }
            }

            foreach (var chunk in doomed.Chunk(DeleteChunk))
                overCap += await DeleteAsync(chunk, cancellationToken);
        }

        int expired;
        await using (var db = await database.OpenAsync(cancellationToken))
        {
            expired = await db.ExecuteAsync(new CommandDefinition(
                "delete from telemetry_pin where expires_at is not null and expires_at <= @now", new { now }, cancellationToken: cancellationToken));
        }

        return new RetentionResult(aged, overCap, expired);
    }

    private sealed class Usage
    {
        public required string AgentId { get; init; }
        public required string ContainerId { get; init; }
        public long Bytes { get; init; }
    }

    private async Task<IReadOnlyList<Usage>> OverCapAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var db = await database.OpenAsync(cancellationToken);
        return (await db.QueryAsync<Usage>(new CommandDefinition(
            $"""
            select agent_id, container_id, cast(sum(stored_bytes) as bigint) as bytes from telemetry_segment s
            where {Unpinned}
            group by agent_id, container_id
            having sum(stored_bytes) > case when container_id = '' then @hostMax else @containerMax end
            """, new { now, hostMax = options.HostMaxBytes, containerMax = options.ContainerMaxBytes }, cancellationToken: cancellationToken))).AsList();
    }

    /// <summary>Deletes what <paramref name="select"/> finds, a chunk a transaction, until it finds nothing.</summary>
    private async Task<int> DeleteWhileAsync(string select, object parameters, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            List<string> ids;
            await using (var db = await database.OpenAsync(cancellationToken))
                ids = (await db.QueryAsync<string>(new CommandDefinition(select, parameters, cancellationToken: cancellationToken))).AsList();
            if (ids.Count == 0)
                return total;
            total += await DeleteAsync(ids, cancellationToken);
        }
    }

    private async Task<int> DeleteAsync(IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken)
    {
        await using var write = await database.BeginWriteAsync(cancellationToken, background: true);
        var deleted = await write.Db.ExecuteAsync(new CommandDefinition(
            $"delete from telemetry_segment where segment_id {database.IsIn("segmentIds")}",
            new { segmentIds = segmentIds.ToArray() }, write.Transaction, cancellationToken: cancellationToken));
        await write.CommitAsync(cancellationToken);
        return deleted;
    }
}

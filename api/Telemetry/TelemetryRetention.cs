namespace Platform.Api.Telemetry;

/// <summary>
/// What one retention pass removed, and how many hosts and containers it left over their cap because the rest of
/// their data waits for detection (<see cref="HeldForDetection"/>).
/// </summary>
public sealed record RetentionResult(int AgedOut, int OverCap, int PinsExpired, int HeldForDetection = 0);

/// <summary>
/// The rolling window: removes flight data past the age cap and the oldest data of each host and container over its
/// byte cap, never data an unexpired pin covers (pinned data does not count against the caps) and never the data of a
/// batch detection has yet to take (<c>detection_queue</c>: nothing stored escapes detection; it counts against the
/// caps, and a resource held over its cap by it is logged). With detection off on this instance the queue does not
/// drain, so retention does not wait for it. Runs in the background in small transactions, each its own writer turn
/// on SQLite, so ingest goes on in between.
/// </summary>
public sealed class TelemetryRetention(
    Database database, TelemetryOptions options, Incidents.DetectionOptions detection, TimeProvider time, ILogger<TelemetryRetention> logger) : BackgroundService
{
    private const int DeleteChunk = 200;

    private const string Unpinned = TelemetryPins.NotPinned;

    /// <summary>The segments retention may delete: unpinned, and not of a batch waiting for detection (while detection runs).</summary>
    private string Deletable => detection.Enabled
        ? $"{Unpinned} and not exists (select 1 from detection_queue q where q.agent_id = s.agent_id and q.sequence = s.sequence)"
        : Unpinned;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.RetentionInterval == TimeSpan.Zero)
            return;
        // Paced by the clock that judges what is old, so a pass never comes at a moment that clock does not know of.
        using var timer = new PeriodicTimer(options.RetentionInterval, time);
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
            $"select segment_id from telemetry_segment s where s.last_time < @oldest and {Deletable} limit @take",
            new { oldest = now - options.MaxAge, now, take = DeleteChunk }, cancellationToken);

        var (overCap, held) = (0, 0);
        foreach (var resource in await OverCapAsync(now, cancellationToken))
        {
            // The oldest deletable segments, as many as it takes to get under the cap (read only that far).
            var excess = resource.Bytes - (resource.ContainerId.Length == 0 ? options.HostMaxBytes : options.ContainerMaxBytes);
            var doomed = new List<string>();
            await using (var db = await database.OpenAsync(cancellationToken))
            {
                await foreach (var (segmentId, storedBytes) in db.QueryUnbufferedAsync<(string SegmentId, long StoredBytes)>(
                    $"select segment_id, stored_bytes from telemetry_segment s where agent_id = @AgentId and container_id = @ContainerId and {Deletable} order by last_time, segment_id",
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
            if (excess > 0)
            {
                // What is left waits for detection: kept over the cap until detection has taken it (the next pass deletes it).
                held++;
                logger.LogWarning(
                    "Flight data of agent {AgentId} (container '{ContainerId}') stays {Bytes} bytes over its cap: the rest of it waits for detection",
                    resource.AgentId, resource.ContainerId, excess);
            }
        }

        int pinsExpired;
        await using (var write = await database.BeginWriteAsync(cancellationToken, background: true))
        {
            pinsExpired = await TelemetryPins.DeleteExpiredAsync(write, now, cancellationToken);
            await write.CommitAsync(cancellationToken);
        }

        return new RetentionResult(aged, overCap, pinsExpired, held);
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

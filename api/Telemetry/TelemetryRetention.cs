using Dapper;
using Platform.Api.Storage;

namespace Platform.Api.Telemetry;

/// <summary>Bound from <c>Platform:Telemetry</c>. The defaults are documented in docs/operations.md.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Platform:Telemetry";

    /// <summary>Stored (compressed) bytes of flight data kept per host, its containers' not counted.</summary>
    public long HostMaxBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Stored (compressed) bytes of flight data kept per container.</summary>
    public long ContainerMaxBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Flight data older than this (by its last event) rolls out, host or container.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the caps are enforced (at most every 30 days); zero turns the background pass off on this instance.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Refuses settings that cannot work, at start-up rather than at the first pass.</summary>
    public TelemetryOptions Checked()
    {
        if (RetentionInterval < TimeSpan.Zero || RetentionInterval > TimeSpan.FromDays(30))
            throw new InvalidOperationException($"{Section}:RetentionInterval must be between 0 (off) and 30 days.");
        if (HostMaxBytes <= 0 || ContainerMaxBytes <= 0 || MaxAge <= TimeSpan.Zero || PinBefore < TimeSpan.Zero || PinAfter < TimeSpan.Zero || PinnedAfterArchive < TimeSpan.Zero)
            throw new InvalidOperationException($"{Section}: byte caps and MaxAge must be positive, pin margins and PinnedAfterArchive not negative.");
        return this;
    }

    /// <summary>An incident keeps the data from this long before its first event...</summary>
    public TimeSpan PinBefore { get; set; } = TimeSpan.FromHours(1);

    /// <summary>...to this long after its last.</summary>
    public TimeSpan PinAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Pinned data is kept this long after its incident is archived.</summary>
    public TimeSpan PinnedAfterArchive { get; set; } = TimeSpan.FromDays(90);
}

/// <summary>What one retention pass removed.</summary>
public sealed record RetentionResult(int AgedOut, int OverCap, int PinsExpired);

/// <summary>
/// The rolling window: removes flight data past the age cap and the oldest data of each host and container over its
/// byte cap, never data an unexpired pin covers (pinned data does not count against the caps). Runs in the
/// background in small transactions, each its own writer turn on SQLite, so ingest goes on in between.
/// </summary>
public sealed class TelemetryRetention(Database database, TelemetryPins pins, TelemetryOptions options, TimeProvider time, ILogger<TelemetryRetention> logger) : BackgroundService
{
    private const int DeleteChunk = 200;

    private const string Unpinned = TelemetryPins.NotPinned;

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

        return new RetentionResult(aged, overCap, await pins.DeleteExpiredAsync(now, cancellationToken));
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

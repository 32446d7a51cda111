using Platform.Api.Agents;
using Platform.Api.Telemetry;

namespace Platform.Api.Incidents;

/// <summary>
/// Runs detection as flight data arrives. Every stored batch is queued (in the transaction that stored it);
/// this service takes the queue agent by agent, batch by batch in sequence order, runs the rules with the
/// agent's context (<see cref="AgentDetection"/>) and stores the findings and the removal of the batches from
/// the queue in one transaction. An agent is worked on by one API instance at a time (a lease in the database):
/// the instance that takes over an agent rebuilds its context from the flight data before the batches it
/// takes. Findings are keyed by what they found, so a batch seen twice (a crash before the commit, a lease
/// handed over mid-batch) makes nothing twice.
/// A batch that comes after a later one was detected (an agent resending after an outage) is late: the rules run
/// again over the flight data stored around it (<see cref="DetectionOptions.ReexamineWindow"/> either side, at most
/// <see cref="DetectionOptions.ReexamineBatches"/> batches), in event-time order, and what they find with its events
/// is stored or revises what was stored with less: the findings do not depend on the order batches arrive in.
/// </summary>
public sealed class IncidentDetector(
    Database database, TelemetryStore telemetry, AgentStore agents, IncidentWorkflow incidents, DetectionHandoff handoff, DetectionOptions options, TimeProvider time,
    ILogger<IncidentDetector> logger, Observability.ApiMetrics metrics)
    : QueueWorker(logger, "Detection pass failed; the batches stay queued and are tried again.")
{
    private const int BatchesPerPass = 64;
    private const int ContextBatches = 500;

    private readonly DetectionSettings _settings = new(options);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, AgentDetection> _contexts = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly string _owner = Ids.New("det");
    private readonly DetectionEvent.Cursor _events = new(new DetectionEvent.Names()); // used within a pass (one at a time)
    private readonly ILogger _log = logger;

    protected override TimeSpan PollInterval => options.PollInterval;

    protected override bool Enabled => options.Enabled;

    protected override TimeSpan Gather => options.Gather;

    /// <summary>
    /// Passes run on a thread of their own (<see cref="DedicatedThread"/>): the rules are CPU work of tens of
    /// milliseconds a pass, kept off the pool's few threads that serve requests.
    /// </summary>
    protected override bool OwnThread => true;

    public override async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (await RunOnceAsync(cancellationToken))
        {
        }
    }

    /// <summary>One pass over the agents with queued batches; true if it did anything.</summary>
    public async Task<bool> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            // What is queued, oldest first, at most a pass's worth an agent: one query for every agent.
            List<(string AgentId, long Sequence)> queued;
            await using (var db = await database.OpenAsync(cancellationToken))
            {
                queued = (await db.QueryAsync<(string, long)>(new CommandDefinition(
                    $"""
                    select agent_id, sequence from (
                        select agent_id, sequence, row_number() over (partition by agent_id order by sequence) as n from detection_queue) as q
                    where n <= {BatchesPerPass} order by agent_id, sequence limit {BatchesPerPass * 64}
                    """, cancellationToken: cancellationToken))).AsList();
            }

            var passes = new List<AgentPass>();
            foreach (var batches in queued.GroupBy(q => q.AgentId))
            {
                if (await LeaseAsync(batches.Key, cancellationToken))
                    passes.Add(new AgentPass(batches.Key, batches.Select(b => b.Sequence).ToList()));
                else
                {
                    _contexts.TryRemove(batches.Key, out _);
                    handoff.Forget(batches.Key);
                }
            }

            if (passes.Count == 0)
                return false;
            try
            {
                // One agent after another: measured with agents in parallel, detection took more of the cores ingest
                // needs (2 cores: ingest with detection 66% of without, against 74-89% one at a time) for a small gain
                // in how soon it caught up (bench/run.sh suite=incidents).
                foreach (var pass in passes)
                    await ObserveAsync(pass, cancellationToken);

                // Every agent's findings and the removal of its batches from the queue in one transaction: on SQLite
                // each transaction takes the one writer from ingest.
                await using var changes = await incidents.BeginChangesAsync(cancellationToken, background: true);
                foreach (var pass in passes)
                {
                    if (pass.Agent is { } agent)
                    {
                        // What looking again found stands for what the same batches' pass found with less.
                        var revised = pass.Revisions.Select(f => f.Id(pass.AgentId)).ToHashSet(StringComparer.Ordinal);
                        var findings = pass.Findings.Where(f => !revised.Contains(f.Id(pass.AgentId))).Concat(pass.Revisions).ToList();
                        var revisions = pass.Revisions.ToHashSet();
                        await incidents.RecordAsync(changes, pass.AgentId, agent.Hostname, findings, cancellationToken, revisions.Contains);
                    }
                    await changes.Db.ExecuteAsync(new CommandDefinition(
                        $"delete from detection_queue where agent_id = @agentId and sequence {database.IsIn("sequences")}", new { agentId = pass.AgentId, sequences = pass.Sequences.ToArray() },
                        changes.Transaction, cancellationToken: cancellationToken));
                }

                await changes.CommitAsync(cancellationToken);
                metrics.Detected(Observability.ApiMetrics.FlightData, passes.SelectMany(p => p.Findings).Select(f => f.Time));
            }
            finally
            {
                // Findings point into handed batches until they are recorded.
                foreach (var contents in passes.SelectMany(p => p.Handed))
                    DetectionHandoff.Release(contents ?? []);
            }

            foreach (var pass in passes)
                handoff.Detected(pass.AgentId, pass.Sequences[^1]);

            ForgetIdleAgents();
            handoff.DropStale();
            return true;
        }
        finally
        {
            _pass.Release();
        }
    }

    /// <summary>Leases this instance holds, and until when: renewed when half gone, not on every pass (on SQLite each renewal is a write).</summary>
    private readonly Dictionary<string, DateTimeOffset> _leases = new(StringComparer.Ordinal);

    private async Task<bool> LeaseAsync(string agentId, CancellationToken cancellationToken)
    {
        var now = TimeProvider.System.GetUtcNow();
        if (_leases.TryGetValue(agentId, out var until) && until - now > options.LeaseDuration / 2)
            return true;
        _leases.Remove(agentId);
        if (!await RenewAsync(agentId, now, cancellationToken))
            return false;
        _leases[agentId] = now + options.LeaseDuration;
        return true;
    }

    private async Task<bool> RenewAsync(string agentId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Detection's writes take the writer's turn after requests (Database.BeginWriteAsync), as its findings do.
        await using var write = await database.BeginWriteAsync(cancellationToken, background: true);
        var renewed = await write.Db.ExecuteAsync(new CommandDefinition(
            """
            insert into detection_lease (agent_id, owner, expires_at) values (@agentId, @owner, @expires)
            on conflict (agent_id) do update set owner = excluded.owner, expires_at = excluded.expires_at
            where detection_lease.owner = excluded.owner or detection_lease.expires_at < @now
            """,
            new { agentId, owner = _owner, expires = now + options.LeaseDuration, now }, write.Transaction, cancellationToken: cancellationToken));
        await write.CommitAsync(cancellationToken);
        return renewed == 1;
    }

    /// <summary>An agent's batches taken in one pass, and what the rules found in them.</summary>
    private sealed record AgentPass(string AgentId, List<long> Sequences)
    {
        public AgentRow? Agent { get; set; }
        public List<IReadOnlyList<SegmentContent>?> Handed { get; } = [];
        public List<Finding> Findings { get; } = [];

        /// <summary>What looking again around late batches found with their events.</summary>
        public List<Finding> Revisions { get; } = [];
    }

    /// <summary>
    /// Runs the rules over an agent's batches, in sequence order: those this instance stored from the handoff, as
    /// written; the others from storage. A late batch (below one the context has seen) is observed too, so the context
    /// knows its processes, but what it finds comes from looking again (<see cref="ReexamineAsync"/>).
    /// </summary>
    private async Task ObserveAsync(AgentPass pass, CancellationToken cancellationToken)
    {
        var (agentId, sequences) = (pass.AgentId, pass.Sequences);
        pass.Handed.AddRange(sequences.Select(sequence => handoff.Take(agentId, sequence)));
        pass.Agent = await agents.FindAsync(agentId, cancellationToken);
        if (pass.Agent is null)
            return; // deleted: its batches leave the queue
        if (!_contexts.TryGetValue(agentId, out var context))
            _contexts[agentId] = context = await ContextAsync(agentId, sequences[0], cancellationToken);
        var missing = sequences.Where((_, i) => pass.Handed[i] is null).ToList();
        var stored = missing.Count == 0 ? [] : (await telemetry.SegmentsOfBatchesAsync(agentId, missing, cancellationToken))
            .GroupBy(s => s.Sequence).ToDictionary(g => g.Key, g => g.Select(s => s.Open()).ToList());
        // Retention keeps what waits for detection (TelemetryRetention); a batch gone all the same (removed while
        // detection was off) leaves the queue unexamined, and says so.
        foreach (var sequence in missing.Where(sequence => !stored.ContainsKey(sequence)))
            _log.LogWarning("Queued flight-data batch {Sequence} of agent {AgentId} has no stored data: its events were removed before detection examined them", sequence, agentId);
        var late = new List<(long Sequence, IReadOnlyList<SegmentContent> Contents)>();
        var ignored = new List<Finding>();
        for (var i = 0; i < sequences.Count; i++)
        {
            var contents = pass.Handed[i] ?? stored.GetValueOrDefault(sequences[i]) ?? [];
            if (sequences[i] < context.HighestSequence)
            {
                late.Add((sequences[i], contents));
                context.Observe(_events.Start(contents), ignored, time.GetUtcNow());
                continue;
            }

            context.Observe(_events.Start(contents), pass.Findings, time.GetUtcNow());
            context.HighestSequence = sequences[i];
        }

        foreach (var (sequence, contents) in late)
            await ReexamineAsync(pass, context, sequence, contents, cancellationToken);
    }

    /// <summary>
    /// Runs the rules again over what is stored around a late batch, with a context that knows the agent's processes,
    /// in event-time order (as if every batch had come in order), and keeps what they find with the late batch's events.
    /// </summary>
    private async Task ReexamineAsync(AgentPass pass, AgentDetection context, long sequence, IReadOnlyList<SegmentContent> contents, CancellationToken cancellationToken)
    {
        var lateEvents = new HashSet<string>(StringComparer.Ordinal);
        var cursor = _events.Start(contents);
        while (cursor.Next() is { } e)
            lateEvents.Add(e.Id);
        if (lateEvents.Count == 0 || await telemetry.BatchSpanAsync(pass.AgentId, sequence, cancellationToken) is not { } span)
            return;
        var window = options.ReexamineWindow;
        var around = await telemetry.SegmentsAroundAsync(pass.AgentId, sequence, span.First - window, span.Last + window, options.ReexamineBatches, cancellationToken);
        var again = new AgentDetection(_settings);
        again.AdoptProcesses(context);
        var found = new List<Finding>();
        again.Observe(_events.Start([.. around.Select(s => s.Open())]), found, time.GetUtcNow());
        var kept = new HashSet<string>(pass.Revisions.Select(f => f.Id(pass.AgentId)), StringComparer.Ordinal);
        // The first of each: the one the events in order make (a later connection is the same finding, not a newer one).
        foreach (var finding in found.Where(f => f.Events.Any(e => lateEvents.Contains(e.Id))))
        {
            if (kept.Add(finding.Id(pass.AgentId)))
                pass.Revisions.Add(finding);
        }
    }

    /// <summary>An agent's context, rebuilt from the flight data before <paramref name="firstSequence"/> (the rules' windows back), in event-time order.</summary>
    private async Task<AgentDetection> ContextAsync(string agentId, long firstSequence, CancellationToken cancellationToken)
    {
        var context = new AgentDetection(_settings) { HighestSequence = await telemetry.HighestDetectedAsync(agentId, cancellationToken) };
        var window = new[] { options.ExfiltrationWindow, options.PortScanWindow }.Max();
        if (await telemetry.BatchStartAsync(agentId, firstSequence, cancellationToken) is not { } from)
            return context;
        var earlier = await telemetry.SegmentsBeforeAsync(agentId, firstSequence, from - window, ContextBatches, cancellationToken);
        context.Observe(_events.Start([.. earlier.Select(s => s.Open())]), [], time.GetUtcNow());
        return context;
    }

    private void ForgetIdleAgents()
    {
        var now = time.GetUtcNow();
        var keep = options.DownloadWindow;
        foreach (var agentId in _contexts.Where(c => now - c.Value.LastActivity > keep).Select(c => c.Key).ToList())
            _contexts.TryRemove(agentId, out _);
    }
}

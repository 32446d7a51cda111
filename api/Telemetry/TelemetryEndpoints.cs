using FluentValidation;
using Platform.Api.Agents;
using Platform.Api.Generated;

namespace Platform.Api.Telemetry;

public sealed partial class TelemetryEndpoints(AgentStore agents, TelemetryStore store, InventoryWriter inventory, EventReader reader, TimeProvider time, Incidents.IncidentDetector detector, Incidents.DetectionHandoff handoff, Cursors cursors, IngestClock clock, SecretRedactor redactor, Observability.ApiMetrics metrics) : TelemetryHandlersBase
{
    public override async Task<Results<Ok<TelemetryBatchResult>, ProblemHttpResult>> PushTelemetry(HttpContext http, string agentId, CancellationToken cancellationToken)
    {
        using var span = Observability.ApiMetrics.StartIngest(Observability.ApiMetrics.FlightData);
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only push its own flight data.", cancellationToken);
        if (agent is null)
            return refusal!;
        // openapi.yaml marks this body raw: it is read and checked here, in one pass (see EventBatch).
        using var body = await EventBatch.ReadAsync(http.Request, agent.Hostname, clock, cancellationToken);
        if (body.Errors is { } errors)
            return Problems.Validation(errors);

        body.Redact(redactor); // before anything is stored, logged or detected
        var segments = Segments.Build(body, agent.Hostname, keepText: handoff.Wanted);
        BatchResult result;
        try
        {
            result = await store.IngestAsync(agentId, body.Id, body.Sequence, segments, time.GetUtcNow(), cancellationToken);
        }
        catch
        {
            Segments.Release(segments);
            throw;
        }

        metrics.Ingested(Observability.ApiMetrics.FlightData, body.Count, result.Outcome == BatchOutcome.Stored ? body.Count : 0, result.Outcome.ToString());
        if (result.Outcome == BatchOutcome.Stored)
        {
            handoff.Offer(agentId, body.Sequence, segments);
            detector.Wake();
        }
        else
            Segments.Release(segments);
        if (result.Outcome == BatchOutcome.Conflict)
            return Problems.Conflict(result.Conflict!);
        return TypedResults.Ok(new TelemetryBatchResult
        {
            BatchId = body.Id,
            Sequence = body.Sequence,
            Received = body.Count,
            Duplicate = result.Outcome == BatchOutcome.Duplicate,
            Gap = result.Gap is { } gap ? ToContract(agentId, gap) : null,
        });
    }

    public override async Task<Results<Ok<TelemetryGapPage>, ProblemHttpResult>> ListTelemetryGaps(HttpContext http, int limit, string? cursor, string agentId, CancellationToken cancellationToken)
    {
        var after = cursors.TryDecode(CursorLists.TelemetryGaps, cursor, out var from) ? from : (Sequence: 0L, Ordinal: -1);
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only read its own coverage gaps.", cancellationToken);
        if (agent is null)
            return refusal!;
        // Both kinds in one order: a missing run of batches at its first sequence number, a reported gap at the batch
        // that carried it and its place there. (Sequence, place) is unique, so a page ends exactly where the next starts.
        var missing = await store.GapsAsync(agentId, after.Sequence, limit + 1, cancellationToken);
        var reported = await store.ReportedGapsAsync(agentId, after.Sequence, after.Ordinal, limit + 1, cancellationToken);
        var gaps = missing.Select(g => (Key: (g.From, Ordinal: -1), Gap: ToContract(agentId, g)))
            .Concat(reported.Select(g => (Key: (g.Sequence, g.Ordinal), Gap: ToContract(agentId, g))))
            .OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Item2)
            .Take(limit + 1)
            .ToList();
        var (items, next) = cursors.Page(gaps, limit, CursorLists.TelemetryGaps, gap => gap.Key);
        return TypedResults.Ok(new TelemetryGapPage { Items = items.Select(g => g.Gap).ToList(), NextCursor = next });
    }

    public override async Task<Results<Ok<Inventory>, ProblemHttpResult>> ReplaceInventory(HttpContext http, InventoryReport body, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only report its own inventory.", cancellationToken);
        if (agent is null)
            return refusal!;
        foreach (var variable in body.Containers.SelectMany(c => c.Environment ?? []))
            variable.Secret = variable.Secret == true || LooksSecret(variable.Name);
        var reportedAt = time.GetUtcNow();
        await inventory.ReplaceAsync(agentId, reportedAt, body, cancellationToken);
        return TypedResults.Ok(new Inventory { AgentId = agentId, Hostname = agent.Hostname, ReportedAt = reportedAt, Containers = body.Containers, Images = body.Images });
    }

    public override async Task<Results<Ok<Inventory>, ProblemHttpResult>> GetInventory(HttpContext http, string agentId, CancellationToken cancellationToken)
    {
        var (agent, refusal) = await agents.FindForCallerAsync(http, agentId, "An agent may only read its own inventory.", cancellationToken);
        if (agent is null)
            return refusal!;
        var (reportedAt, report) = await store.InventoryAsync(agentId, cancellationToken);
        return TypedResults.Ok(new Inventory { AgentId = agentId, Hostname = agent.Hostname, ReportedAt = reportedAt, Containers = report.Containers, Images = report.Images });
    }

    public override async Task<Results<Ok<TelemetryEventPage>, PushStreamHttpResult, ProblemHttpResult>> ListTelemetryEvents(HttpContext http, string agentId, int limit, string? cursor, string? containerId, TelemetryEventKind? kind, DateTimeOffset? since, DateTimeOffset? until, ListFormat format, CancellationToken cancellationToken)
    {
        // agentId is required by the contract: a container is one agent's, the same container id from two agents is
        // two containers, never one listing.
        var caller = http.Caller();
        if (caller.Role == Role.Agent && !caller.MaySee(agentId))
            return Problems.Forbidden("An agent may only read its own flight data: pass its own 'agentId'.");
        var after = cursors.TryDecode(CursorLists.TelemetryEvents, cursor, out var position) ? position : (EventPosition?)null;

        var rows = new List<StoredEvent>(limit + 1);
        var filter = new SegmentFilter(agentId, containerId, kind is { } k ? Segments.KindBit(k) : 0);
        await foreach (var stored in reader.OldestFirstAsync(filter, since, until, after, kind, cancellationToken))
        {
            rows.Add(stored);
            if (rows.Count > limit)
                break;
        }

        var (items, next) = cursors.Page(rows, limit, CursorLists.TelemetryEvents, e => e.Position);
        var events = items.Select(e => e.Event()).ToList();
        return format == ListFormat.Ocsf
            ? Ocsf.OcsfLines.Stream(http, next, events.Select(e => Ocsf.OcsfFlightData.Event(agentId, e)).ToAsyncEnumerable())
            : TypedResults.Ok(new TelemetryEventPage { Items = events, NextCursor = next });
    }

    internal static TelemetryGap ToContract(string agentId, SequenceGap gap) => new()
    {
        AgentId = agentId, FromSequence = gap.From, ToSequence = gap.To, LastBatchBefore = gap.Before, FirstBatchAfter = gap.After,
        LastEventBefore = gap.LastEventBefore, FirstEventAfter = gap.FirstEventAfter,
        Reason = CoverageGapReason.MissingBatches, From = gap.LastEventBefore, Until = gap.FirstEventAfter,
    };

    internal static TelemetryGap ToContract(string agentId, ReportedGap gap) => new()
    {
        AgentId = agentId, FromSequence = gap.Sequence, ToSequence = gap.Sequence, Reason = gap.Reason, From = gap.From, Until = gap.Until, LostEvents = gap.LostEvents,
    };

    /// <summary>Names that usually hold credentials: flagged even if the agent did not flag them.</summary>
    internal static bool LooksSecret(string name) => SecretName().IsMatch(name);

    [System.Text.RegularExpressions.GeneratedRegex("PASS(WORD|WD)?|SECRET|TOKEN|(API|ACCESS|PRIVATE|SECRET)_?KEY|CREDENTIAL|AUTH|PWD|DSN|CONNECTION_?STRING",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex SecretName();
}
